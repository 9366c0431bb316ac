"""lm-evaluation-harness `--log_samples` importer on small realistic output folders."""

import json
from pathlib import Path

import pytest

from modelsat.data.importers import lm_eval
from modelsat.errors import DataError

STAMP = "2024-06-01T12-30-05.123456"


def arc_sample(doc_id: int, acc: float) -> dict:
    """One multiple-choice sample in the current layout (`arguments.gen_args_N.arg_0/arg_1`)."""
    question = f"Which gas do plants absorb? ({doc_id})"
    context = f"Question: {question}\nAnswer:"
    choices = [" oxygen", " carbon dioxide", " nitrogen"]
    return {
        "doc_id": doc_id,
        "doc": {"question": question, "choices": {"text": choices, "label": ["A", "B", "C"]}, "answerKey": "B"},
        "target": 1,
        "arguments": {f"gen_args_{i}": {"arg_0": context, "arg_1": c} for i, c in enumerate(choices)},
        "resps": [[["-3.2", "False"]], [["-0.4", "True"]], [["-5.0", "False"]]],
        "filtered_resps": [["-3.2", "False"], ["-0.4", "True"], ["-5.0", "False"]],
        "filter": "none",
        "metrics": ["acc", "acc_norm"],
        "doc_hash": "d",
        "prompt_hash": "p",
        "target_hash": "t",
        "acc": acc,
        "acc_norm": 1.0,
    }


def gsm_sample(doc_id: int, filter_name: str, em: float) -> dict:
    """One generation sample in the older layout (`arguments` as a list of [context, gen_kwargs])."""
    return {
        "doc_id": doc_id,
        "doc": {"question": f"Tom has {doc_id} apples and buys 2. How many?", "answer": f"#### {doc_id + 2}"},
        "target": f"#### {doc_id + 2}",
        "arguments": [[f"Question: Tom has {doc_id} apples and buys 2. How many?\nAnswer:", {"until": ["\n\n"]}]],
        "resps": [[f"He has {doc_id + 2}."]],
        "filtered_resps": [str(doc_id + 2)],
        "filter": filter_name,
        "metrics": ["exact_match"],
        "exact_match": em,
    }


def write_run(folder: Path, results: dict | None, samples: dict[str, list]) -> Path:
    """An lm-eval output folder: results_<stamp>.json plus samples_<task>_<stamp>.jsonl files."""
    folder.mkdir(parents=True, exist_ok=True)
    if results is not None:
        (folder / f"results_{STAMP}.json").write_text(json.dumps(results))
    for task, lines in samples.items():
        body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
        (folder / f"samples_{task}_{STAMP}.jsonl").write_text(body + "\n")
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """Two models' runs under one --output_path, as lm_eval writes them."""
    write_run(
        tmp_path / "out" / "EleutherAI__pythia-160m",
        {
            "results": {"arc_easy": {"acc,none": 0.5}},
            "config": {"model": "hf", "model_args": "pretrained=EleutherAI/pythia-160m,dtype=float32"},
        },
        {
            "arc_easy": [arc_sample(0, 1.0), arc_sample(1, 0.0)],
            "gsm8k": [gsm_sample(0, "strict-match", 1.0), gsm_sample(0, "flexible-extract", 0.0)],
        },
    )
    write_run(
        tmp_path / "out" / "local__tiny",
        {"model_name": "tiny-chat", "config": {"model_args": {"pretrained": "ignored/path"}}},
        {"arc_easy": [arc_sample(0, 0.0), "{truncated line", arc_sample(1, 1.0)]},
    )
    return tmp_path / "out"


def test_imports_every_model_and_task(run_dir: Path) -> None:
    result = lm_eval.load(run_dir)
    got = result.outcomes.set_index(["model", "query_id"])
    assert got["score"].to_dict() == {
        ("EleutherAI/pythia-160m", "lm-eval/arc_easy/0"): 1.0,
        ("EleutherAI/pythia-160m", "lm-eval/arc_easy/1"): 0.0,
        ("EleutherAI/pythia-160m", "lm-eval/gsm8k/0"): 1.0,
        ("tiny-chat", "lm-eval/arc_easy/0"): 0.0,
        ("tiny-chat", "lm-eval/arc_easy/1"): 1.0,
    }
    assert got.loc[("EleutherAI/pythia-160m", "lm-eval/arc_easy/1"), "prompt"] == (
        "Question: Which gas do plants absorb? (1)\nAnswer:"
    )
    assert got.loc[("EleutherAI/pythia-160m", "lm-eval/gsm8k/0"), "prompt"].startswith("Question: Tom has 0 apples")
    assert got.loc[("EleutherAI/pythia-160m", "lm-eval/gsm8k/0"), "answer"] == "#### 2"
    assert (
        set(result.outcomes["task"]) == {"arc_easy", "gsm8k"}
        and (result.outcomes["source"] == result.outcomes["task"]).all()
    )
    assert result.skipped == {
        f"samples_gsm8k_{STAMP}.jsonl": {"repeated doc_id (one line per filter; kept the first)": 1},
        f"samples_arc_easy_{STAMP}.jsonl": {"line is not valid JSON": 1},
    }


def test_model_and_metric_options(run_dir: Path) -> None:
    result = lm_eval.load(run_dir / "local__tiny", model="my-model", metric="acc_norm")
    assert set(result.outcomes["model"]) == {"my-model"}
    assert result.outcomes["score"].tolist() == [1.0, 1.0]


def test_prompt_falls_back_to_doc_fields(tmp_path: Path) -> None:
    sample = {**gsm_sample(3, "none", 1.0), "arguments": {}}
    folder = write_run(tmp_path, None, {"gsm8k": [sample, {**sample, "doc_id": 4, "doc": {}}]})
    result = lm_eval.load(folder, model="m")
    assert result.outcomes["prompt"].tolist() == ["Tom has 3 apples and buys 2. How many?"]
    assert result.skipped == {f"samples_gsm8k_{STAMP}.jsonl": {"no prompt in arguments or doc": 1}}


def test_unknown_model_asks_for_model_option(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", {"config": {"model": "hf"}}, {"arc_easy": [arc_sample(0, 1.0)]})
    with pytest.raises(DataError, match=r"run: no results_\*\.json naming the model; pass --model NAME"):
        lm_eval.load(folder)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["not json at all", "[1, 2]"], "not a JSON Lines file"),
        ([{**arc_sample(0, 1.0), "acc": 3.5}], r"line 1: metric 'acc' = 3\.5 is outside \[0, 1\]"),
        (
            [{k: v for k, v in arc_sample(0, 1.0).items() if k not in ("acc", "acc_norm", "metrics")}],
            "no usable samples",
        ),
    ],
)
def test_malformed_samples(tmp_path: Path, lines: list, message: str) -> None:
    folder = write_run(tmp_path, None, {"arc_easy": lines})
    with pytest.raises(DataError, match=message) as info:
        lm_eval.load(folder, model="m")
    assert str(info.value).startswith(str(folder / f"samples_arc_easy_{STAMP}.jsonl"))


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no samples_<task>_<timestamp>.jsonl files"):
        lm_eval.load(tmp_path)
    empty = tmp_path / f"samples_arc_easy_{STAMP}.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match=r"samples_arc_easy_.*\.jsonl: empty file"):
        lm_eval.load(tmp_path, model="m")
    (tmp_path / f"results_{STAMP}.json").write_text("{broken")
    empty.write_text(json.dumps(arc_sample(0, 1.0)))
    with pytest.raises(DataError, match=r"results_.*\.json: not valid JSON"):
        lm_eval.load(tmp_path)
