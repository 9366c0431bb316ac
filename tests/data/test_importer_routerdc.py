"""RouterDC importer on the real `split2_model7` files and on malformed ones."""

import json
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import routerdc
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
    assert (
        per_task.loc["mmlu"].idxmax() == "zephyr-7b-beta" and per_task.loc["mbpp"].idxmax() == "dolphin-2.9-llama3-8b"
    )


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
