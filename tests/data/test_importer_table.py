"""Generic table importer: long and wide formats, property-based round trips, bad scores."""

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelsat.data.importers import table
from modelsat.errors import DataError

WRITERS = {
    ".csv": lambda df, p: df.to_csv(p, index=False),
    ".jsonl": lambda df, p: df.to_json(p, orient="records", lines=True),
    ".parquet": lambda df, p: df.to_parquet(p, index=False),
}
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s.strip() != ""
)
ident = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_/.", min_size=1, max_size=10)
score = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1, allow_nan=False))


@st.composite
def outcome_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Long outcomes: some models, some queries, a score (and cost) for a random subset of pairs."""
    models = draw(st.lists(ident.filter(lambda s: s not in table.RESERVED), min_size=1, max_size=4, unique=True))
    query_ids = draw(st.lists(ident, min_size=1, max_size=6, unique=True))
    rows = []
    for qid in query_ids:
        prompt, task = draw(text), draw(ident)
        for model in models:
            if draw(st.booleans()) or model == models[0]:
                cost = draw(st.floats(0, 10, allow_nan=False))
                rows.append({"model": model, "query_id": qid, "prompt": prompt, "task": task, "score": draw(score)})
                rows[-1]["cost"] = cost
    return pd.DataFrame(rows)


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Comparable view of the fields a round trip must keep."""
    cols = ["model", "query_id", "prompt", "task", "source", "score", "cost"]
    return df[cols].sort_values(["model", "query_id"], ignore_index=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(long=outcome_tables(), suffix=st.sampled_from(sorted(WRITERS)))
def test_long_wide_round_trip(long: pd.DataFrame, suffix: str, tmp_path: Path) -> None:
    long_file, wide_file = tmp_path / f"long{suffix}", tmp_path / f"wide{suffix}"
    WRITERS[suffix](long, long_file)
    from_long = table.load(long_file)
    assert from_long.skipped == {}
    assert (from_long.outcomes["source"] == from_long.outcomes["task"]).all()
    WRITERS[suffix](table.long_to_wide(from_long.outcomes), wide_file)
    from_wide = table.load(wide_file, models=sorted(long["model"].unique()))
    pd.testing.assert_frame_equal(canonical(from_wide.outcomes), canonical(from_long.outcomes), check_exact=False)
    expected_scores = long.set_index(["model", "query_id"])["score"].sort_index()
    got_scores = from_wide.outcomes.set_index(["model", "query_id"])["score"].sort_index()
    pd.testing.assert_series_equal(got_scores, expected_scores, check_exact=False, rtol=1e-12)
    n_missing = len(long["query_id"].unique()) * long["model"].nunique() - len(long)
    assert from_wide.n_skipped == n_missing


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    long=outcome_tables(),
    bad=st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -0.0001), st.sampled_from(["high", "n/a!"])),
    data=st.data(),
)
def test_bad_score_is_rejected_with_its_row(long: pd.DataFrame, bad: object, data: st.DataObject, tmp_path) -> None:
    row = data.draw(st.integers(0, len(long) - 1))
    long = long.astype({"score": object})
    long.loc[row, "score"] = bad
    path = tmp_path / "scores.csv"
    long.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        table.load(path)
    assert f"row {row + 1} (query_id {long.loc[row, 'query_id']!r})" in str(info.value)
    assert str(info.value).startswith(f"{path}: column 'score' must hold scores in [0, 1]")


def test_wide_autodetects_numeric_columns(tmp_path: Path) -> None:
    path = tmp_path / "zoo.csv"
    path.write_text(
        "query_id,prompt,task,source,notes,alpha,beta,beta|cost\n"
        "q1,What is 2+2?,math,gsm,easy,1,0,0.5\n"
        "q2,Capital of France?,geo,,hard,0,,0.7\n"
    )
    result = table.load(path)
    got = result.outcomes.set_index(["model", "query_id"])
    assert got["score"].to_dict() == {("alpha", "q1"): 1.0, ("alpha", "q2"): 0.0, ("beta", "q1"): 0.0}
    assert got.loc[("beta", "q1"), "cost"] == 0.5 and pd.isna(got.loc[("alpha", "q1"), "cost"])
    assert got["source"].to_dict() == {("alpha", "q1"): "gsm", ("alpha", "q2"): "geo", ("beta", "q1"): "gsm"}
    assert result.skipped == {"zoo.csv": {"no score for beta": 1}}
    assert result.notes == ["zoo.csv: not model columns (not numeric or reserved): notes"]


def test_long_skips_incomplete_rows(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(
        '{"model": "m", "query_id": "007", "prompt": "p", "task": "t", "score": 1}\n'
        '{"model": "m", "query_id": "008", "prompt": "", "task": "t", "score": 0}\n'
        '{"model": "m", "query_id": "009", "prompt": "p", "task": "t", "score": null}\n'
    )
    result = table.load(path)
    assert result.outcomes["query_id"].tolist() == ["007"]
    assert result.skipped == {"long.jsonl": {"empty score": 1, "empty prompt": 1}}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.csv", "", r"t\.csv: empty file"),
        ("t.csv", "model,query_id,prompt,task,score\n", r"t\.csv: the table has no rows"),
        ("t.csv", "model,query_id,task,score\nm,q,t,1\n", r"t\.csv: missing column\(s\) prompt"),
        ("t.csv", "query_id,prompt,task\nq,p,t\n", r"t\.csv: no model columns found; name them with --models"),
        ("t.jsonl", "{not json\n", r"t\.jsonl: not a readable jsonl file"),
        ("t.parquet", "PAR1 garbage", r"t\.parquet: not a readable parquet file"),
        ("t.xlsx", "x", r"t\.xlsx: unknown table format"),
        ("t.csv", "model,query_id,prompt,task,score\nm,q,p,t,1\nm,q,p,t,0\n", r"duplicate \(model, query_id\) pair"),
    ],
)
def test_malformed_tables(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        table.load(path)


def test_models_option_names_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("query_id,prompt,task,a\nq,p,t,1\n")
    with pytest.raises(DataError, match=r"missing column\(s\) b"):
        table.load(path, models=["a", "b"])
