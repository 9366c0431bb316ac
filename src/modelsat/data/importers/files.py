"""Reading result files for the importers: tables (CSV, JSONL, Parquet) and JSON Lines records.

Every failure becomes a `DataError` that names the file, so the CLI prints one `Error:` line.

Example:
    frame = read_table(Path("results.csv"))
    for line_no, record in iter_jsonl(Path("samples_arc_2024.jsonl"), result): ...
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from modelsat.data.importers import ImportResult
from modelsat.errors import DataError

NA_TOKENS = ["", "NA", "N/A", "NaN", "nan", "null", "None"]
TABLE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def require_file(path: Path) -> None:
    """Raise a `DataError` unless `path` is a non-empty file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")


def read_table(path: Path, text_columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV, JSONL or Parquet file (chosen by suffix) into a DataFrame with at least one row.

    `text_columns` are read as text where present, so ids like `007` survive CSV and JSONL.
    """
    require_file(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unknown table format (expected one of {', '.join(sorted(TABLE_SUFFIXES))})")
    try:
        text = dict.fromkeys(text_columns or [], str)
        if kind == "csv":
            # Only an empty cell is missing text: a prompt or task may well read "null" or "NA".
            header = pd.read_csv(path, nrows=0).columns
            na = {c: [""] if c in text else NA_TOKENS for c in header}
            frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=na)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=text)
        else:
            frame = pd.read_parquet(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable {kind} file ({_first_line(exc)})") from exc
    if frame.empty:
        raise DataError(f"{path}: the table has no rows")
    return frame


def require_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Raise a `DataError` naming the missing columns of `frame`."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns[:12])) + (", ..." if len(frame.columns) > 12 else "")
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (have: {have})")


def iter_jsonl(path: Path, result: ImportResult) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each JSON object line; bad lines are skipped and counted.

    Raises:
        DataError: when the file is empty or no line at all is a JSON object.
    """
    require_file(path)
    parsed = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                result.skip(path.name, "line is not valid JSON")
                continue
            if not isinstance(record, dict):
                result.skip(path.name, f"line is a JSON {type(record).__name__}, not an object")
                continue
            parsed += 1
            yield line_no, record
    if parsed == 0:
        raise DataError(f"{path}: not a JSON Lines file (no line holds a JSON object)")


def _first_line(exc: Exception) -> str:
    """The first line of an exception message (pyarrow and pandas messages can be long)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
