"""AlpacaEval importer on the real results zip and on a folder built from parts of it."""

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import alpaca_eval
from modelsat.data.zoos import CHAT
from modelsat.errors import DataError

ANNOTATIONS = "weighted_alpaca_eval_gpt4_turbo/annotations.json"


@pytest.fixture(scope="module")
def chat(shared_data: Path) -> pd.DataFrame:
    return alpaca_eval.load(shared_data / "alpaca-eval" / "results.zip").outcomes


def test_real_zip(chat: pd.DataFrame) -> None:
    assert sorted(chat["model"].unique()) == sorted(CHAT)
    assert chat["query_id"].nunique() == 805
    assert set(chat["task"].str.removeprefix("alpaca-eval/").unique()) == {
        "helpful_base",
        "koala",
        "oasst",
        "selfinstruct",
        "vicuna",
    }
    per_model = chat.groupby("model")["score"].mean()
    assert per_model.idxmax() == "FuseChat-Gemma-2-9B-Instruct" and per_model.max() == pytest.approx(0.705, abs=1e-3)
    assert chat.groupby("model").size()["alpaca-7b_verbose"] == 802  # three instructions were never judged
    first = chat[chat["query_id"] == "alpaca-eval/0"]
    assert first["answer"].nunique() == 1 and len(first["answer"].iloc[0]) > 100  # GPT-4 Turbo's reference
    assert chat["split"].isna().all()


def _folder(shared_data: Path, root: Path) -> Path:
    """A `results/` folder with the baseline and two models' annotations, one of them damaged."""
    with zipfile.ZipFile(shared_data / "alpaca-eval" / "results.zip") as source:
        baseline = source.read("results/gpt4_1106_preview/model_outputs.json")
        good = json.loads(source.read(f"results/alpaca-7b/{ANNOTATIONS}"))[:5]
    bad = [dict(r) for r in good]
    bad[0]["preference"] = None
    bad[1]["instruction"] = "an instruction nobody asked"
    bad[2] = "not a record"
    bad.append(dict(good[3]))
    for model, records in (("alpaca-7b", good), ("broken-7b", bad)):
        path = root / "results" / model / ANNOTATIONS
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(records))
    baseline_path = root / "results" / "gpt4_1106_preview" / "model_outputs.json"
    baseline_path.parent.mkdir(parents=True)
    baseline_path.write_bytes(baseline)
    return root / "results"


def test_folder_with_bad_records(shared_data: Path, tmp_path: Path) -> None:
    result = alpaca_eval.load(_folder(shared_data, tmp_path))
    assert result.skipped == {
        f"broken-7b/{ANNOTATIONS}": {
            "preference missing or outside [1, 2]": 1,
            "instruction not among the baseline's instructions": 1,
            "record is a str, not an object": 1,
            "instruction judged twice (kept the first)": 1,
        }
    }
    counts = result.outcomes.groupby("model").size().to_dict()
    assert counts == {"alpaca-7b": 5, "broken-7b": 2}


def test_missing_baseline_and_wrong_file(tmp_path: Path) -> None:
    (tmp_path / "results" / "m" / "weighted_alpaca_eval_gpt4_turbo").mkdir(parents=True)
    (tmp_path / "results" / "m" / ANNOTATIONS).write_text("[]")
    with pytest.raises(DataError, match="no gpt4_1106_preview/model_outputs.json"):
        alpaca_eval.load(tmp_path / "results")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt: not an AlpacaEval results folder or zip"):
        alpaca_eval.load(other)
