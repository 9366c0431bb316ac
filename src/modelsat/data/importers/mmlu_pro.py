"""MMLU-Pro `eval_results` importer: one `model_outputs_<model>_5shots.zip` per model.

Each zip holds one JSON list of items (question_id, question, options, answer, category, src, pred);
correct ⇔ pred == answer (a null pred is wrong). MMLU-origin items get task `mmlu/<subject>`,
the rest `mmlu-pro/<category>`.

Example:
    result = load(Path("../shared/data/mmlu-pro"))
"""

import json
import re
import zipfile
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

FILE_RE = re.compile(r"^model_outputs_(?P<model>.+)_\d+shots\.zip$")
NEEDED = ("question_id", "question", "options", "answer", "category", "src")


def model_name(path: Path) -> str:
    """Model name from a `model_outputs_<model>_5shots.zip` file name."""
    match = FILE_RE.match(path.name)
    if not match:
        raise DataError(f"{path}: not an MMLU-Pro results file (expected model_outputs_<model>_<n>shots.zip)")
    return match["model"]


def read_items(path: Path) -> list:
    """The JSON list inside one results zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.endswith(".json")]
            if not members:
                raise DataError(f"{path}: zip holds no .json file")
            raw = zf.read(members[0])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{path}: not a readable zip file ({exc})") from exc
    try:
        items = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: {members[0]} is not valid JSON ({exc})") from exc
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a JSON list of items, got {type(items).__name__}")
    if not items:
        raise DataError(f"{path}: the item list is empty")
    return items


def task_of(src: str, category: str) -> str:
    """`mmlu/<subject>` for MMLU-origin items, else `mmlu-pro/<category>`."""
    if src.startswith("ori_mmlu-"):
        return "mmlu/" + src.removeprefix("ori_mmlu-")
    return f"mmlu-pro/{category}"


def source_of(src: str) -> str:
    """Dataset of origin: `ori_mmlu-<subject>` stays as is; `stemez-…` → `stemez`, etc."""
    if src.startswith("ori_mmlu"):
        return src
    return src.split("-")[0]


def load_file(path: Path, result: ImportResult) -> list[dict]:
    """Rows of one model's zip; bad records are counted in `result`."""
    model = model_name(path)
    rows = []
    for item in read_items(path):
        if not isinstance(item, dict):
            result.skip(path.name, f"record is a {type(item).__name__}, not an object")
            continue
        absent = [k for k in NEEDED if item.get(k) in (None, "")]
        if absent:
            result.skip(path.name, f"missing field {absent[0]}")
            continue
        src, category = str(item["src"]), str(item["category"])
        options = item["options"]
        rows.append(
            {
                "model": model,
                "query_id": f"mmlu-pro/{item['question_id']}",
                "prompt": str(item["question"]),
                "task": task_of(src, category),
                "source": source_of(src),
                "score": float(item.get("pred") is not None and item["pred"] == item["answer"]),
                "cost": None,
                "options": json.dumps(options) if isinstance(options, list) else str(options),
                "answer": str(item["answer"]),
                "category": category,
            }
        )
    if not rows:
        raise DataError(f"{path}: no usable records")
    return rows


def load(source: Path) -> ImportResult:
    """Import every results zip in folder `source` (or one zip file)."""
    source = Path(source)
    files = sorted(source.glob("model_outputs_*.zip")) if source.is_dir() else [source]
    if not files:
        raise DataError(f"{source}: no model_outputs_<model>_<n>shots.zip files found")
    result = ImportResult(pd.DataFrame())
    rows: list[dict] = []
    for path in files:
        rows.extend(load_file(path, result))
    result.outcomes = validate_outcomes(pd.DataFrame(rows), str(source))
    return result
