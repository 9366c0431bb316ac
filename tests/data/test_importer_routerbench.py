"""RouterBench importer on the real CSVs and on malformed ones."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import routerbench
from modelsat.errors import DataError

HEADER = "sample_id,prompt,eval_name,m1,m1|total_cost,m1|model_response,m2,m2|total_cost\n"


@pytest.fixture(scope="module")
def routerbench_outcomes(shared_data: Path) -> pd.DataFrame:
    return routerbench.load(shared_data / "routerbench-subset").outcomes


def test_real_import(routerbench_outcomes: pd.DataFrame, shared_data: Path) -> None:
    df = routerbench_outcomes
    assert df["model"].nunique() == 11
    assert df["cost"].notna().all() and (df["cost"] > 0).all()
    assert df.groupby("task")["query_id"].nunique().to_dict() == {
        "arc-challenge": 1470,
        "mbpp": 427,
        "winogrande": 1267,
    }
    assert (df.groupby("model")["query_id"].nunique() == 3164).all()
    assert set(df["source"]) == {"routerbench"}
    assert df["query_id"].str.startswith("routerbench/").all()
    assert not df["prompt"].str.startswith("[").any()
    gpt4 = df[df["model"] == "gpt-4-1106-preview"]
    assert gpt4["score"].mean() == pytest.approx(0.8799, abs=5e-5)
    assert not any("model_response" in c for c in df.columns)


def test_repeated_sample_ids_merge_into_one_query(routerbench_outcomes: pd.DataFrame) -> None:
    # arc-challenge.val.136 appears in both the train and the test file, each row scoring some models.
    query = routerbench_outcomes[routerbench_outcomes["query_id"] == "routerbench/arc-challenge.val.136"]
    assert len(query) == 11
    assert query["prompt"].nunique() == 1


def test_turns_are_joined() -> None:
    assert routerbench.prompt_text("['first', 'second']") == "first\n\nsecond"
    assert routerbench.prompt_text("'only'") == "only"
    assert routerbench.prompt_text("__import__('os').system('true')") is None
    assert routerbench.prompt_text("[1, 2]") is None
    assert routerbench.prompt_text("['unclosed") is None


def test_bad_prompt_and_missing_scores_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "bench.csv"
    path.write_text(
        HEADER
        + "a,\"['q1']\",mbpp,1,0.1,x,0,0.2\n"
        + "b,not a list,mbpp,1,0.1,x,0,0.2\n"
        + "c,\"['q3', 'more']\",mbpp,,,x,1,0.2\n"
    )
    result = routerbench.load(path)
    assert sorted(result.outcomes["query_id"]) == ["routerbench/a", "routerbench/a", "routerbench/c"]
    assert result.skipped == {
        "bench.csv": {"prompt is not a list of text turns": 1, "no score for m1": 1},
    }
    row = result.outcomes.set_index(["model", "query_id"]).loc[("m2", "routerbench/c")]
    assert (row["prompt"], row["score"], row["cost"]) == ("q3\n\nmore", 1.0, 0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"bench\.csv: empty file"),
        ("sample_id,eval_name,m1,m1|total_cost\na,mbpp,1,0.1\n", r"bench\.csv: missing column\(s\) prompt"),
        ("sample_id,prompt,eval_name,m1\na,\"['q']\",mbpp,1\n", r"bench\.csv: no model columns"),
        (
            HEADER + "a,\"['q']\",mbpp,2,0.1,x,0,0.2\n",
            r"bench\.csv: column 'm1' must hold scores in \[0, 1\]; row 1 has 2",
        ),
        (HEADER + "a,\"['q']\",mbpp,yes,0.1,x,0,0.2\n", r"column 'm1' must hold scores in \[0, 1\]; row 1 has 'yes'"),
    ],
)
def test_malformed_csv(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bench.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        routerbench.load(tmp_path)
