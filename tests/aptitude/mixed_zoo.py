"""A small multi-domain outcomes table made from the raw shared files, with the importers' task labels.

RouterDC questions (`routerdc/<task>/<index>`: gsm8k, humaneval, mbpp, mmlu, humaneval-js), AlpacaEval
instructions (`alpaca-eval/<index>`, task `alpaca-eval/<dataset>`) and MMLU-Pro questions (options and
answer key). Each zoo member `member-k` joins the k-th model of each source, so one table covers the four
kinds of question (the recorded zoos do not overlap). Nothing is copied into the repository.
"""

import ast
import json
import zipfile
from pathlib import Path

import pandas as pd

ROUTERDC = {"gsm8k": "gsm8k-test.json", "humaneval": "humaneval_test.json", "mbpp": "mbpp.json",
            "mmlu": "mmlu_test.json", "humaneval-js": "javascript.json"}  # fmt: skip
MMLU_PRO = ("Phi-3-mini-4k-instruct", "mathstral-7B", "Qwen1.5-7B-Chat")


def routerdc_rows(data: Path, task: str, n: int, members: int) -> list[dict]:
    """The first `n` questions of a RouterDC file, scored by its first `members` models."""
    items = json.loads((data / "routerdc" / ROUTERDC[task]).read_text())[:n]
    rows = []
    for index, item in enumerate(items):
        raw = item["scores"]  # a dict, or a dict written as a Python string
        scores = list((ast.literal_eval(raw) if isinstance(raw, str) else raw).values())[:members]
        for k, score in enumerate(scores):
            rows.append({"model": f"member-{k}", "query_id": f"routerdc/{task}/{index}", "prompt": item["question"],
                         "task": task, "score": float(score)})  # fmt: skip
    return rows


def alpaca_rows(data: Path, n: int, members: int) -> list[dict]:
    """The first `n` AlpacaEval instructions, scored (preference − 1) by the archive's first `members` models."""
    rows = []
    with zipfile.ZipFile(data / "alpaca-eval" / "results.zip") as archive:
        names = sorted(p for p in archive.namelist() if p.endswith("annotations.json") and "gpt4_1106" not in p)
        for k, name in enumerate(names[:members]):
            for index, item in enumerate(json.loads(archive.read(name))[:n]):
                task, score = f"alpaca-eval/{item['dataset']}", float(item["preference"]) - 1
                rows.append({"model": f"member-{k}", "query_id": f"alpaca-eval/{index}", "prompt": item["instruction"],
                             "task": task, "score": score})  # fmt: skip
    return rows


def mmlu_pro_rows(mmlu_outcomes: pd.DataFrame, subject: str, n: int) -> list[dict]:
    """`n` MMLU-Pro questions of `subject` with options and answer key, from the 3 `MMLU_PRO` models."""
    rows = mmlu_outcomes[(mmlu_outcomes["task"] == subject) & mmlu_outcomes["model"].isin(MMLU_PRO)]
    ids = sorted(set.intersection(*(set(rows[rows["model"] == m]["query_id"]) for m in MMLU_PRO)))[:n]
    rows = rows[rows["query_id"].isin(ids)].copy()
    rows["model"] = rows["model"].map({m: f"member-{k}" for k, m in enumerate(MMLU_PRO)})
    return rows[["model", "query_id", "prompt", "task", "score", "options", "answer"]].to_dict("records")


def mixed_table(data: Path, mmlu_outcomes: pd.DataFrame, n: int = 40, members: int = 3) -> pd.DataFrame:
    """The long-format table: `n` questions of each task for `members` zoo members."""
    rows = mmlu_pro_rows(mmlu_outcomes, "mmlu/high_school_biology", n) + alpaca_rows(data, n, members)
    for task in ROUTERDC:
        rows += routerdc_rows(data, task, n, members)
    return pd.DataFrame(rows)
