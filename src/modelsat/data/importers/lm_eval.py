"""lm-evaluation-harness importer: the `--log_samples` output of `lm_eval --output_path DIR`.

Each `samples_<task>_<timestamp>.jsonl` line holds `doc_id`, `doc`, `target`, `arguments`,
`resps`, `filtered_resps` and per-sample metrics (`acc`, `exact_match`, ...). The model name comes
from the `results_*.json` beside it (`model_name`, else `pretrained=`/`model=` in
`config.model_args`) unless given. The prompt is the first request's first argument, else a
text field of `doc`. Query ids are `lm-eval/<task>/<doc_id>`; task and source are the task name.
When a task logs one line per filter, the first line of each doc is kept and the others counted.

Example:
    result = load(Path("eval_out"), model=None, metric=None)
"""

import json
import re
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.importers.files import iter_jsonl
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

SAMPLES_RE = re.compile(r"^samples_(?P<task>.+?)(?:_(?P<stamp>\d{4}-\d\d-\d\dT[\d.:-]+))?\.jsonl$")
METRICS = ("acc", "exact_match", "acc_norm", "pass@1", "em", "f1", "mc2")
DOC_TEXT_FIELDS = ("question", "query", "prompt", "input", "problem", "sentence", "text", "goal", "ctx")
MODEL_ARG_KEYS = ("pretrained", "model", "path", "engine")


def model_from_results(folder: Path, stamp: str | None) -> str | None:
    """Model name from the folder's `results_<stamp>.json` (or any `results_*.json`), if it says."""
    candidates = sorted(folder.glob("results_*.json"), reverse=True)
    candidates.sort(key=lambda p: p.name != f"results_{stamp}.json")  # the matching run first, else the newest
    for path in candidates:
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(results, dict):
            raise DataError(f"{path}: expected a JSON object with 'config' and 'results'")
        if isinstance(results.get("model_name"), str) and results["model_name"]:
            return results["model_name"]
        args = (results.get("config") or {}).get("model_args")
        name = _model_arg(args)
        if name:
            return name
    return None


def _model_arg(args: object) -> str | None:
    """`pretrained=`/`model=` from lm-eval's model_args (a `k=v,k=v` string or a dict)."""
    if isinstance(args, str):
        args = dict(part.split("=", 1) for part in args.split(",") if "=" in part)
    if isinstance(args, dict):
        for key in MODEL_ARG_KEYS:
            if isinstance(args.get(key), str) and args[key]:
                return args[key]
    return None


def prompt_of(record: dict) -> str | None:
    """The first request's first argument (both `arguments` layouts), else a text field of `doc`."""
    args = record.get("arguments")
    first = None
    if isinstance(args, dict) and args:
        first = next(iter(args.values()))
        first = first.get("arg_0") if isinstance(first, dict) else None
    elif isinstance(args, list) and args:
        first = args[0][0] if isinstance(args[0], list) and args[0] else args[0]
    if isinstance(first, str) and first.strip():
        return first
    doc = record.get("doc")
    if isinstance(doc, dict):
        for name in DOC_TEXT_FIELDS:
            if isinstance(doc.get(name), str) and doc[name].strip():
                return doc[name]
    return None


def score_of(record: dict, metric: str | None) -> tuple[str, object] | None:
    """(metric name, raw value) for `metric`, or the first known per-sample metric present."""
    if metric:
        return (metric, record[metric]) if metric in record else None
    listed = record.get("metrics") if isinstance(record.get("metrics"), list) else []
    for name in [*METRICS, *listed]:
        if name in record:
            return name, record[name]
    return None


def load_file(path: Path, model: str, metric: str | None, result: ImportResult) -> list[dict]:
    """Rows of one samples file; unusable lines are counted in `result`."""
    task = SAMPLES_RE.match(path.name)["task"]
    seen: set[str] = set()
    rows = []
    for line_no, record in iter_jsonl(path, result):
        if record.get("doc_id") is None:
            result.skip(path.name, "missing doc_id")
            continue
        doc_id = str(record["doc_id"])
        if doc_id in seen:
            result.skip(path.name, "repeated doc_id (one line per filter; kept the first)")
            continue
        found = score_of(record, metric)
        if found is None:
            result.skip(path.name, f"no {metric or 'known'} metric" + ("" if metric else " (pass --metric)"))
            continue
        name, value = found
        if isinstance(value, bool) or (isinstance(value, int | float) and value == value):
            score = float(value)
        else:
            result.skip(path.name, f"metric '{name}' is not a number")
            continue
        if not 0.0 <= score <= 1.0:
            raise DataError(f"{path}: line {line_no}: metric '{name}' = {value!r} is outside [0, 1]; choose --metric")
        prompt = prompt_of(record)
        if prompt is None:
            result.skip(path.name, "no prompt in arguments or doc")
            continue
        seen.add(doc_id)
        target = record.get("target")
        rows.append(
            {
                "model": model,
                "query_id": f"lm-eval/{task}/{doc_id}",
                "prompt": prompt,
                "task": task,
                "source": task,
                "score": score,
                "answer": None if target is None else str(target),
            }
        )
    if not rows:
        reasons = ", ".join(result.skipped.get(path.name, {})) or "none"
        raise DataError(f"{path}: no usable samples (skipped: {reasons})")
    return rows


def load(source: Path, model: str | None = None, metric: str | None = None) -> ImportResult:
    """Import every `samples_<task>_<timestamp>.jsonl` under `source` (a folder, searched recursively, or one file).

    Args:
        source: an lm-eval `--output_path` folder, a model's subfolder, or one samples file.
        model: the model name; default: read from the `results_*.json` next to each samples file.
        metric: the per-sample metric to use as score; default: the first of `METRICS` present.

    Raises:
        DataError: for unreadable or empty files, an unknown model name, or a score outside [0, 1].
    """
    source = Path(source)
    files = sorted(source.rglob("samples_*.jsonl")) if source.is_dir() else [source]
    if not files:
        raise DataError(f"{source}: no samples_<task>_<timestamp>.jsonl files (run lm_eval with --log_samples)")
    result = ImportResult(pd.DataFrame())
    rows: list[dict] = []
    for path in files:
        match = SAMPLES_RE.match(path.name)
        if not match:
            raise DataError(f"{path}: not an lm-eval samples file (expected samples_<task>_<timestamp>.jsonl)")
        name = model or model_from_results(path.parent, match["stamp"])
        if not name:
            raise DataError(f"{path.parent}: no results_*.json naming the model; pass --model NAME")
        rows.extend(load_file(path, name, metric, result))
    result.outcomes = validate_outcomes(pd.DataFrame(rows), str(source))
    return result
