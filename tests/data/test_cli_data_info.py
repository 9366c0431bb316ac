"""`modelsat data info`: golden figures from the real MMLU-Pro data, JSON contract, zoo filter."""

import json
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.info import summarize
from modelsat.data.schema import write_outcomes
from modelsat.data.splits import split_of
from modelsat.data.zoos import SMALL_5


@pytest.fixture(scope="module")
def mmlu_file(mmlu_outcomes: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("info") / "o.parquet"
    write_outcomes(mmlu_outcomes, path)
    return path


def test_json_acceptance_figures(cli, mmlu_file: Path) -> None:
    result = cli("data", "info", mmlu_file, "--json")
    assert result.code == 0
    info = json.loads(result.stdout)
    assert info["n_models"] == len(info["models"]) == 25
    phi = info["models"]["Phi-3-mini-4k-instruct"]
    assert phi["queries"] == 12_032 and round(phi["accuracy"], 4) == 0.4148
    assert info["models"]["DeepSeek-Coder-V2"]["queries"] == 10_351
    assert info["n_queries"] == 12_032 and info["n_rows"] == 299_107
    assert info["domains"] == {"in_domain": 6_810, "out_of_domain": 5_222}
    assert sum(info["splits"].values()) == 12_032
    assert info["n_tasks"] == len(info["tasks"]) and sum(info["tasks"].values()) == 12_032


def test_zoo_and_models_filters(cli, mmlu_file: Path) -> None:
    small5 = json.loads(cli("data", "info", mmlu_file, "--json", "--zoo", "small-5").stdout)
    assert sorted(small5["models"]) == sorted(SMALL_5)
    assert round(small5["models"]["mathstral-7B"]["accuracy"], 4) == 0.4200
    two = json.loads(cli("data", "info", mmlu_file, "--json", "--models", "Yi-6B,DeepSeek-Coder-V2").stdout)
    assert sorted(two["models"]) == ["DeepSeek-Coder-V2", "Yi-6B"] and two["n_rows"] == 12_032 + 10_351


def test_unknown_names_exit_2(cli, mmlu_file: Path) -> None:
    unknown = cli("data", "info", mmlu_file, "--models", "Phi-3-mini")
    assert unknown.code == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("Error: unknown model(s) 'Phi-3-mini' (did you mean 'Phi-3-mini-4k-instruct'?)")
    zoo = cli("data", "info", mmlu_file, "--zoo", "tiny")
    assert (zoo.code, zoo.stderr) == (
        2,
        "Error: unknown zoo 'tiny'; named zoos: small-5, small, mixed, specialists, chat, all\n",
    )


def test_rich_tables(cli, mmlu_file: Path) -> None:
    result = cli("data", "info", mmlu_file, "--zoo", "small-5")
    assert result.code == 0
    assert "5 models, 12,032 queries" in result.stdout
    assert "Phi-3-mini-4k-instruct" in result.stdout and "0.4148" in result.stdout
    assert "Yi-6B" not in result.stdout


def test_missing_and_corrupt_files(cli, tmp_path: Path) -> None:
    missing = cli("data", "info", tmp_path / "none.parquet")
    assert missing.code == 1 and missing.stderr.startswith(f"Error: {tmp_path / 'none.parquet'}: no such outcomes file")
    corrupt = tmp_path / "bad.parquet"
    corrupt.write_bytes(b"PAR1 not really")
    result = cli("data", "info", corrupt)
    assert result.code == 1 and result.stderr.startswith(f"Error: {corrupt}: not a readable Parquet file")


def test_summary_counts_by_hand() -> None:
    outcomes = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b", "b"],
            "query_id": ["q1", "q2", "q1", "q2", "q3"],
            "task": ["x", "y", "x", "y", "y"],
            "source": ["ori_mmlu-law", "stemez", "ori_mmlu-law", "stemez", "scibench"],
            "score": [1.0, 0.0, 0.5, 1.0, 1.0],
            "cost": [0.1, 0.3, None, None, None],
        }
    )
    info = summarize(outcomes)
    assert info["models"] == {
        "a": {"queries": 2, "accuracy": 0.5, "mean_cost": pytest.approx(0.2)},
        "b": {"queries": 3, "accuracy": pytest.approx(2.5 / 3), "mean_cost": None},
    }
    assert info["tasks"] == {"x": 1, "y": 2} and info["domains"] == {"in_domain": 1, "out_of_domain": 2}
    expected = pd.Series(split_of(["q1", "q2", "q3"])).value_counts().to_dict()
    assert {k: v for k, v in info["splits"].items() if v} == expected
    assert summarize(outcomes, ["a"])["n_queries"] == 2
