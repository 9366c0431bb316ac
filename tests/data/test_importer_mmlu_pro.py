"""MMLU-Pro importer on the real zips (golden figures) and on files that are not what they claim."""

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import mmlu_pro
from modelsat.errors import DataError

ITEM = {
    "question_id": 1,
    "question": "2 + 2 = ?",
    "options": ["3", "4"],
    "answer": "B",
    "answer_index": 1,
    "category": "math",
    "src": "ori_mmlu-elementary_mathematics",
    "pred": "B",
}


def write_zip(folder: Path, model: str, payload: bytes) -> Path:
    """A results zip for `model` holding `payload` as its JSON member."""
    path = folder / f"model_outputs_{model}_5shots.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{model}.json", payload)
    return path


def test_all_models_real_data(mmlu_outcomes: pd.DataFrame) -> None:
    counts = mmlu_outcomes.groupby("model")["query_id"].nunique()
    assert len(counts) == 25
    assert len(mmlu_outcomes) == 299_107
    assert counts["Phi-3-mini-4k-instruct"] == 12_032
    assert counts["DeepSeek-Coder-V2"] == 10_351
    assert counts["gemini-1.5-pro-002"] == 12_020
    phi = mmlu_outcomes[mmlu_outcomes["model"] == "Phi-3-mini-4k-instruct"]
    assert phi["score"].mean() == pytest.approx(0.4148, abs=5e-5)
    assert set(mmlu_outcomes["score"].unique()) == {0.0, 1.0}
    assert mmlu_outcomes["category"].nunique() == 14
    origin = phi.drop_duplicates("query_id")
    assert origin["task"].str.startswith("mmlu/").sum() == 6_810
    assert set(origin.loc[~origin["source"].str.startswith("ori_mmlu"), "source"]) == {
        "stemez",
        "theoremQA",
        "scibench",
    }


def test_bare_string_records_are_counted(mmlu_two: Path) -> None:
    result = mmlu_pro.load(mmlu_two)
    assert result.skipped == {"model_outputs_DeepSeek-Coder-V2_5shots.zip": {"record is a str, not an object": 43}}
    assert result.outcomes["model"].value_counts().to_dict() == {
        "Phi-3-mini-4k-instruct": 12_032,
        "DeepSeek-Coder-V2": 10_351,
    }


def test_null_pred_is_wrong_and_missing_fields_skipped(tmp_path: Path) -> None:
    items = [ITEM, {**ITEM, "question_id": 2, "pred": None}, {**ITEM, "question_id": 3, "question": ""}]
    write_zip(tmp_path, "m", json.dumps(items).encode())
    result = mmlu_pro.load(tmp_path)
    assert result.outcomes.set_index("query_id")["score"].to_dict() == {"mmlu-pro/1": 1.0, "mmlu-pro/2": 0.0}
    assert result.outcomes["task"].tolist() == ["mmlu/elementary_mathematics"] * 2
    assert result.skipped == {"model_outputs_m_5shots.zip": {"missing field question": 1}}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "not a readable zip file"),
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a readable zip file"),
        (lambda p: write_zip(p.parent, "m", b"{not json"), "is not valid JSON"),
        (lambda p: write_zip(p.parent, "m", b'{"a": 1}'), "expected a JSON list of items, got dict"),
        (lambda p: write_zip(p.parent, "m", b"[]"), "the item list is empty"),
        (lambda p: write_zip(p.parent, "m", b'["x", 3]'), "no usable records"),
    ],
)
def test_malformed_zip_names_the_file(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "model_outputs_m_5shots.zip"
    make(path)
    with pytest.raises(DataError, match=message) as info:
        mmlu_pro.load(tmp_path)
    assert str(info.value).startswith(str(path))


def test_truncated_real_zip(shared_data: Path, tmp_path: Path) -> None:
    real = (shared_data / "mmlu-pro" / "model_outputs_Yi-6B_5shots.zip").read_bytes()
    path = tmp_path / "model_outputs_Yi-6B_5shots.zip"
    path.write_bytes(real[: len(real) // 2])
    with pytest.raises(DataError, match=r"model_outputs_Yi-6B_5shots\.zip: not a readable zip file"):
        mmlu_pro.load(tmp_path)


def test_empty_folder_and_wrong_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no model_outputs_<model>_<n>shots.zip files found"):
        mmlu_pro.load(tmp_path)
    other = tmp_path / "results.zip"
    other.write_bytes(b"")
    with pytest.raises(DataError, match="not an MMLU-Pro results file"):
        mmlu_pro.load(other)
