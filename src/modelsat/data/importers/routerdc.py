"""RouterDC importer: the RouterDC paper's per-question scores of 7 open 7–8B models (`split2_model7`).

Each file is one JSON list of `{"question": str, "scores": {"<hf org>/<model>": score}}`, read as RouterDC
scores it (`data/routerdc_scoring.py`): on the multiple-choice files a score is the gold option's probability
when the model's top option is the gold one, else 0, and becomes 1 (right, above 0) or 0; on the sampled
files (GSM8K, HumanEval, MBPP) it is the share of 10 answers right and is kept; MATH is 0/1. In the
published files `scores` is often a Python dict *written as a string*, read with `ast.literal_eval`
(literals only, never code). The file name gives the task, the split and the domain the paper assigns
it: `<task>_train.json` / `<task>_test.json` for its in-distribution tasks (MMLU, GSM8K, CMMLU,
ARC-Challenge, HumanEval), test-only files for its out-of-distribution ones (MATH-prealgebra, MBPP,
C-Eval). Models are named without their organisation (`MetaMath-Mistral-7B`). The query id is
`routerdc/<task>/<split>/<index in file>`; the files' own split is kept in the `split` column and the
paper's in/out-of-distribution labels in `domain`. Files outside the paper's protocol (ARC-Easy,
HumanEval-JavaScript) are listed in a note and not imported.

Example:
    result = load(Path("../shared/data/routerdc"))
"""

import ast
import json
import math
import re
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.importers.files import require_file
from modelsat.data.routerdc_scoring import SOURCE, as_share_right
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

IN_DISTRIBUTION = {
    "mmlu": "mmlu",
    "gsm8k": "gsm8k",
    "cmmlu": "cmmlu",
    "arc_challenge": "arc-challenge",
    "humaneval": "humaneval",
}
OUT_OF_DISTRIBUTION = {"MATH_prealgebra": "math-prealgebra", "mbpp": "mbpp", "ceval": "ceval"}
OUTSIDE_PROTOCOL = ("arc_easy", "javascript")
_SPLIT_FILE = re.compile(r"^(?P<stem>.+?)[_-](?P<split>train|test)$")


def file_role(path: Path) -> tuple[str, str, str] | None:
    """(task, split, domain) of a RouterDC file from its name; None for a file outside the paper's protocol.

    Raises:
        DataError: for a JSON file whose name is not one of the RouterDC files.
    """
    match = _SPLIT_FILE.match(path.stem)
    stem, split = (match["stem"], match["split"]) if match else (path.stem, "test")
    if stem in IN_DISTRIBUTION and match:
        return IN_DISTRIBUTION[stem], split, "in_domain"
    if stem in OUT_OF_DISTRIBUTION and not match:
        return OUT_OF_DISTRIBUTION[stem], "test", "out_of_domain"
    if stem in OUTSIDE_PROTOCOL:
        return None
    known = sorted([*(f"{s}_train|_test" for s in IN_DISTRIBUTION), *OUT_OF_DISTRIBUTION, *OUTSIDE_PROTOCOL])
    raise DataError(f"{path}: not a RouterDC file name (expected one of: {', '.join(known)})")


def parse_scores(raw: object) -> dict[str, float] | None:
    """A record's `scores` as {model: score in [0, 1]}; None when it is not such a mapping."""
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)  # literals only: never evaluates code
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    if not isinstance(raw, dict) or not raw:
        return None
    scores = {}
    for name, value in raw.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            return None
        scores[name.rsplit("/", 1)[-1]] = float(value)
    return scores


def read_records(path: Path) -> list:
    """The JSON list of one file.

    Raises:
        DataError: when the file is missing, empty, not JSON or not a list.
    """
    require_file(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a JSON list of {{question, scores}} records, got {type(records).__name__}")
    return records


def _rows(path: Path, task: str, split: str, domain: str, result: ImportResult) -> list[dict]:
    """Outcome rows of one file; unusable records are counted in `result`."""
    rows = []
    for index, record in enumerate(read_records(path)):
        if not isinstance(record, dict):
            result.skip(path.name, f"record is a {type(record).__name__}, not an object")
            continue
        question = record.get("question")
        if not isinstance(question, str) or not question.strip():
            result.skip(path.name, "missing or empty question")
            continue
        scores = parse_scores(record.get("scores"))
        if scores is None:
            result.skip(path.name, "scores is not a {model: score in [0, 1]} mapping")
            continue
        query_id = f"{SOURCE}/{task}/{split}/{index}"
        for model, score in scores.items():
            rows.append(
                {
                    "model": model,
                    "query_id": query_id,
                    "prompt": question,
                    "task": task,
                    "source": SOURCE,
                    "score": as_share_right(task, score),
                    "split": split,
                    "domain": domain,
                }
            )
    if not rows:
        raise DataError(f"{path}: no usable RouterDC records")
    return rows


def load(source: Path) -> ImportResult:
    """Import the RouterDC files of folder `source` (or one file).

    Raises:
        DataError: when the folder holds no RouterDC file, or a file is unreadable or not RouterDC's format.
    """
    source = Path(source)
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    result = ImportResult(pd.DataFrame())
    rows, outside = [], []
    for path in files:
        role = file_role(path)
        if role is None:
            outside.append(path.name)
            continue
        rows += _rows(path, *role, result)
    if outside:
        result.notes.append(f"not imported (outside the RouterDC paper's protocol): {', '.join(outside)}")
    if not rows:
        raise DataError(f"{source}: no RouterDC .json files found")
    frame = pd.DataFrame(rows)
    models = sorted(frame["model"].unique())
    per_query = frame.groupby("query_id")["model"].nunique()
    partial = int((per_query < len(models)).sum())
    if partial:
        result.notes.append(f"{partial:,} question(s) are scored for only some of the {len(models)} models")
    result.outcomes = validate_outcomes(frame, str(source))
    return result
