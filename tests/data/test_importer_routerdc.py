"""RouterDC importer on the real `split2_model7` files and on malformed ones."""

import json
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import routerdc
from modelsat.data.schema import read_outcomes, write_outcomes
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import SPECIALISTS
from modelsat.errors import DataError


@pytest.fixture(scope="module")
def specialists(shared_data: Path) -> pd.DataFrame:
    return routerdc.load(shared_data / "routerdc").outcomes


def test_real_import_keeps_the_papers_tasks_splits_and_domains(specialists: pd.DataFrame) -> None:
    assert sorted(specialists["model"].unique()) == sorted(SPECIALISTS)
    queries = specialists.drop_duplicates("query_id")
    sizes = queries.groupby(["task", "split", "domain"]).size().to_dict()
    assert sizes[("gsm8k", "test", "in_domain")] == 1319 and sizes[("gsm8k", "train", "in_domain")] == 1000
    assert sizes[("mmlu", "test", "in_domain")] == 4213 and sizes[("humaneval", "train", "in_domain")] == 115
    assert sizes[("math-prealgebra", "test", "out_of_domain")] == 871
    assert sizes[("ceval", "test", "out_of_domain")] == 1346 and sizes[("mbpp", "test", "out_of_domain")] == 500
    assert not queries["task"].isin(["arc-easy", "humaneval-js"]).any()
    assert (specialists.groupby("query_id")["model"].nunique() == 7).all()
    test = specialists[specialists["split"] == "test"]
    per_task = test.groupby(["task", "model"])["score"].mean().unstack()
    assert per_task.loc["gsm8k", "MetaMath-Mistral-7B"] == pytest.approx(0.696, abs=1e-3)
    assert per_task.loc["gsm8k", "zephyr-7b-beta"] == pytest.approx(0.330, abs=1e-3)
    assert per_task.loc["mmlu", "Meta-Llama-3-8B"] == pytest.approx(0.646, abs=1e-3)
    assert per_task.loc["mmlu"].idxmax() == "Meta-Llama-3-8B"
    assert per_task.loc["mbpp"].idxmax() == "dolphin-2.9-llama3-8b"
    assert per_task.loc["cmmlu"].nlargest(2).index.tolist() == ["Meta-Llama-3-8B", "Chinese-Mistral-7B-v0.1"]
    assert per_task.loc["cmmlu"].idxmin() == "zephyr-7b-beta"


def _raw(shared_data: Path, name: str) -> list[dict]:
    return json.loads((shared_data / "routerdc" / name).read_text())


def _imported(specialists: pd.DataFrame, query_id: str) -> dict[str, float]:
    rows = specialists[specialists["query_id"] == query_id]
    return dict(zip(rows["model"], rows["score"], strict=True))


@pytest.mark.parametrize(
    ("file", "task"),
    [
        ("mmlu_test.json", "mmlu"),
        ("cmmlu_train.json", "cmmlu"),
        ("arc_challenge_test.json", "arc-challenge"),
        ("ceval.json", "ceval"),
    ],
)
def test_multiple_choice_scores_are_right_exactly_when_above_zero(
    specialists: pd.DataFrame, shared_data: Path, file: str, task: str
) -> None:
    records = _raw(shared_data, file)
    split = "train" if "_train" in file else "test"
    values = [set(routerdc.parse_scores(r["scores"]).values()) for r in records]
    index = next(i for i, v in enumerate(values) if 0 in v and any(0 < x < 1 for x in v))  # right and wrong models
    raw = routerdc.parse_scores(records[index]["scores"])
    imported = _imported(specialists, f"routerdc/{task}/{split}/{index}")
    assert imported == {model: float(value > 0) for model, value in raw.items()}


@pytest.mark.parametrize(("file", "task"), [("gsm8k-test.json", "gsm8k"), ("humaneval_train.json", "humaneval")])
def test_sampled_scores_keep_the_share_of_answers_right(
    specialists: pd.DataFrame, shared_data: Path, file: str, task: str
) -> None:
    records = _raw(shared_data, file)
    split = "train" if "_train" in file else "test"
    index = next(
        i for i, r in enumerate(records) if any(0 < v < 1 for v in routerdc.parse_scores(r["scores"]).values())
    )
    imported = _imported(specialists, f"routerdc/{task}/{split}/{index}")
    assert imported == routerdc.parse_scores(records[index]["scores"])
    assert any(0 < value < 1 for value in imported.values())


def test_math_scores_stay_zero_or_one(specialists: pd.DataFrame, shared_data: Path) -> None:
    records = _raw(shared_data, "MATH_prealgebra.json")
    index = next(i for i, r in enumerate(records) if 1 in routerdc.parse_scores(r["scores"]).values())
    assert _imported(specialists, f"routerdc/math-prealgebra/test/{index}") == routerdc.parse_scores(
        records[index]["scores"]
    )
    assert set(specialists.loc[specialists["task"] == "math-prealgebra", "score"].unique()) == {0.0, 1.0}


def _stale(specialists: pd.DataFrame, shared_data: Path) -> pd.DataFrame:
    """The table as imported before multiple-choice scores were binarised: the files' raw probabilities."""
    records = _raw(shared_data, "mmlu_test.json")
    raw = {f"routerdc/mmlu/test/{i}": routerdc.parse_scores(r["scores"]) for i, r in enumerate(records)}
    stale = specialists.copy()
    mmlu = stale["query_id"].isin(raw)
    pairs = zip(stale.loc[mmlu, "query_id"], stale.loc[mmlu, "model"], strict=True)
    stale.loc[mmlu, "score"] = [raw[q][m] for q, m in pairs]
    return stale


def test_a_table_imported_before_the_fix_is_refused_until_reimported(
    cli, specialists: pd.DataFrame, shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "old.parquet"
    write_outcomes(_stale(specialists, shared_data), out)
    for command in (("data", "info", out), ("import", "routerdc", shared_data / "routerdc", "-o", out)):
        refused = cli(*command)
        assert refused.code == 1
        assert "gold-option probabilities" in refused.stderr and "--replace" in refused.stderr
        assert "task 'mmlu'" in refused.stderr
    with pytest.raises(DataError, match="re-import"):
        read_outcomes(out)
    reimported = cli("import", "routerdc", shared_data / "routerdc", "-o", out, "--replace")
    assert reimported.code == 0, reimported.stderr
    fresh = read_outcomes(out)
    assert set(fresh.loc[fresh["task"] == "mmlu", "score"].unique()) == {0.0, 1.0}


def test_declared_split_is_kept_with_a_tenth_of_train_for_validation(specialists: pd.DataFrame) -> None:
    test_ids = set(split_outcomes(specialists, "test")["query_id"])
    assert test_ids == set(specialists.loc[specialists["split"] == "test", "query_id"])
    train = split_outcomes(specialists, "train")["query_id"].nunique()
    validation = split_outcomes(specialists, "validation")["query_id"].nunique()
    assert train + validation == 5935 and 0.07 < validation / 5935 < 0.13


def _write(folder: Path, name: str, records: object) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(records))
    return folder


def test_bad_records_are_skipped_and_counted(tmp_path: Path) -> None:
    records = [
        {"question": "2+2?", "scores": "{'org/a': 1.0, 'org/b': 0.5}"},
        {"question": "3+3?", "scores": {"org/a": 0, "org/b": 1}},
        {"question": "", "scores": "{'org/a': 1}"},
        {"question": "x", "scores": "__import__('os').system('echo pwned')"},
        {"question": "y", "scores": "{'org/a': 1.5}"},
        "a bare string",
    ]
    result = routerdc.load(_write(tmp_path / "dc", "gsm8k-train.json", records))
    assert result.skipped == {
        "gsm8k-train.json": {
            "missing or empty question": 1,
            "scores is not a {model: score in [0, 1]} mapping": 2,
            "record is a str, not an object": 1,
        }
    }
    frame = result.outcomes
    assert sorted(frame["model"].unique()) == ["a", "b"] and len(frame) == 4
    assert set(frame["query_id"]) == {"routerdc/gsm8k/train/0", "routerdc/gsm8k/train/1"}
    assert set(frame["split"]) == {"train"} and set(frame["domain"]) == {"in_domain"}


def test_wrong_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"notes\.json: not a RouterDC file name"):
        routerdc.load(_write(tmp_path / "a", "notes.json", []))
    with pytest.raises(DataError, match=r"mmlu_test\.json: expected a JSON list"):
        routerdc.load(_write(tmp_path / "b", "mmlu_test.json", {"question": "q"}))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ceval.json").write_text("{not json")
    with pytest.raises(DataError, match=r"ceval\.json: not a JSON file"):
        routerdc.load(tmp_path / "c")
    with pytest.raises(DataError, match="no RouterDC .json files"):
        routerdc.load(_write(tmp_path / "d", "javascript.json", [{"question": "q", "scores": "{'o/a': 1}"}]))


def test_cli_import_reports_the_files_left_out(cli, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "specialists.parquet"
    result = cli("import", "routerdc", shared_data / "routerdc", "-o", out)
    assert result.code == 0, result.stderr
    assert "arc_easy_train.json" in result.stderr and "javascript.json" in result.stderr
    info = cli("data", "info", out, "--zoo", "specialists", "--json")
    summary = json.loads(info.stdout)
    assert summary["domains"] == {"in_domain": 15343, "out_of_domain": 2717}
    assert summary["splits"]["test"] == 12125
    assert "above 0" in summary["score_meaning"]["cmmlu"] and "share of 10" in summary["score_meaning"]["gsm8k"]
    assert set(summary["score_meaning"]) == {
        "mmlu",
        "gsm8k",
        "cmmlu",
        "arc-challenge",
        "humaneval",
        "math-prealgebra",
        "mbpp",
        "ceval",
    }
    tables = cli("data", "info", out)
    assert "What a score means" in tables.stdout and "pass@1" in tables.stdout
