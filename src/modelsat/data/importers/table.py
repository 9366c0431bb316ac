"""Generic table importer: bring your own zoo as CSV, JSONL or Parquet, in long or wide format.

Long format (a `model` and a `score` column): one row per (model, query) with
`model, query_id, prompt, task, score` and optionally `source` (defaults to `task`), `cost`,
`options`, `answer`; any other column is kept.

Wide format (no `model` column): one row per query with `query_id, prompt, task` (optionally
`source`, `options`, `answer`) and one score column per model. Model columns are those named by
`models`, or else every numeric column that is not a known outcomes column and contains no `|`.
An optional `<model>|cost` column holds that model's cost. An empty score cell means the model
was not run on that query: it is skipped and counted.

Example:
    result = load(Path("my_zoo.csv"))                      # long or wide, detected
    wide = long_to_wide(result.outcomes)                  # back to one column per model
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.importers.files import read_table, require_columns
from modelsat.data.schema import COLUMNS, KEY, validate_outcomes
from modelsat.errors import DataError

QUERY_COLUMNS = ["query_id", "prompt", "task"]
QUERY_OPTIONAL = ["source", "options", "answer"]
COST_SUFFIX = "|cost"
TEXT_COLUMNS = ["model", "query_id", "prompt", "task"]
RESERVED = set(COLUMNS) | {"category"}


def is_long(frame: pd.DataFrame) -> bool:
    """Long format has `model` and `score` columns; anything else is read as wide."""
    return "model" in frame.columns and "score" in frame.columns


def detect_models(frame: pd.DataFrame) -> list[str]:
    """Wide-format model columns: numeric, not an outcomes column, no `|` in the name."""
    return [
        str(c)
        for c in frame.columns
        if str(c) not in RESERVED and "|" not in str(c) and pd.api.types.is_numeric_dtype(frame[c])
    ]


def check_scores(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Scores as floats (NaN where empty); a non-number or a value outside [0, 1] stops the import."""
    raw = frame[column]
    score = pd.to_numeric(raw, errors="coerce")
    bad = (score.isna() & raw.notna()) | (score < 0) | (score > 1)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        where = f"row {row + 1} (query_id {frame['query_id'].iloc[row]!r})" if "query_id" in frame else f"row {row + 1}"
        value = raw.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value  # 1.5, not np.float64(1.5)
        raise DataError(f"{path}: column '{column}' must hold scores in [0, 1]; {where} has {value!r}")
    return score.astype("float64")


def wide_to_long(frame: pd.DataFrame, models: Sequence[str], path: Path, result: ImportResult) -> pd.DataFrame:
    """One row per (model, query) from a wide table; empty score cells are skipped and counted."""
    require_columns(frame, QUERY_COLUMNS + list(models), path)
    if not models:
        raise DataError(f"{path}: no model columns found; name them with --models a,b")
    base = frame[[c for c in QUERY_COLUMNS + QUERY_OPTIONAL if c in frame.columns]]
    parts = []
    for model in models:
        part = base.assign(model=model, score=check_scores(frame, model, path))
        if model + COST_SUFFIX in frame.columns:
            part["cost"] = pd.to_numeric(frame[model + COST_SUFFIX], errors="coerce")
        empty = part["score"].isna()
        if empty.any():
            result.skip(path.name, f"no score for {model}", int(empty.sum()))
        parts.append(part[~empty])
    return pd.concat(parts, ignore_index=True)


def long_to_wide(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per query, one score column per model (and `<model>|cost` where costs exist)."""
    queries = outcomes.drop_duplicates("query_id").set_index("query_id")
    query_cols = [c for c in ["prompt", "task", "source", "options", "answer"] if c in queries.columns]
    wide = queries[query_cols].copy()
    scores = outcomes.pivot(index="query_id", columns="model", values="score")
    wide = wide.join(scores)
    if "cost" in outcomes.columns and outcomes["cost"].notna().any():
        costs = outcomes.pivot(index="query_id", columns="model", values="cost")
        wide = wide.join(costs.rename(columns=lambda m: f"{m}{COST_SUFFIX}"))
    return wide.reset_index()


def _drop_incomplete(frame: pd.DataFrame, path: Path, result: ImportResult) -> pd.DataFrame:
    """Skip (and count) rows whose model, query_id, prompt or task is empty."""
    keep = pd.Series(True, index=frame.index)
    for col in [c for c in TEXT_COLUMNS if c in frame.columns]:
        empty = frame[col].isna() | (frame[col].astype(str).str.strip() == "")
        if (empty & keep).any():
            result.skip(path.name, f"empty {col}", int((empty & keep).sum()))
        keep &= ~empty
    return frame[keep]


def load(path: Path, models: Sequence[str] | None = None) -> ImportResult:
    """Import one long- or wide-format table.

    Args:
        path: a `.csv`, `.jsonl`/`.ndjson` or `.parquet` file.
        models: wide format only: the model columns (default: detected, see the module docstring).

    Raises:
        DataError: when the file is unreadable or empty, lacks columns, or holds a score outside [0, 1].
    """
    path = Path(path)
    frame = read_table(path, text_columns=TEXT_COLUMNS + QUERY_OPTIONAL)
    result = ImportResult(pd.DataFrame())
    if is_long(frame):
        if models:
            raise DataError(f"{path}: --models applies to wide tables only; this one has 'model' and 'score' columns")
        require_columns(frame, ["model", *QUERY_COLUMNS, "score"], path)
        frame = frame.assign(score=check_scores(frame, "score", path))
        empty = frame["score"].isna()
        if empty.any():
            result.skip(path.name, "empty score", int(empty.sum()))
        long = frame[~empty]
    else:
        if not models:
            models = detect_models(frame)
            ignored = [
                str(c)
                for c in frame.columns
                if str(c) not in models and str(c) not in RESERVED and not str(c).endswith(COST_SUFFIX)
            ]
            if ignored:
                result.notes.append(f"{path.name}: not model columns (not numeric or reserved): {', '.join(ignored)}")
        long = wide_to_long(frame, list(models), path, result)
    long = _drop_incomplete(long, path, result)
    if long.empty:
        raise DataError(f"{path}: no usable outcome rows")
    if "source" not in long.columns:
        long = long.assign(source=long["task"])
    long = long.assign(source=long["source"].where(long["source"].notna(), long["task"]))
    result.outcomes = validate_outcomes(long, str(path)).sort_values(KEY, ignore_index=True)
    return result
