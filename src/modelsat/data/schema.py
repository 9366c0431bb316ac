"""The canonical outcomes table (DESIGN §3) and its atomic Parquet store.

One row per (model, query): model, query_id, prompt, task, source, score in [0, 1], and the
optional cost (USD), options (JSON list as text), answer, and the split and domain a dataset declares
for its queries (`split`: train/validation/test, `domain`: in_domain/out_of_domain; empty = the
sha256 split and the source rule of `data/splits.py`).

Example:
    df = read_outcomes("outcomes.parquet")
    write_outcomes(merge_outcomes(df, new_rows, replace=False), "outcomes.parquet")
"""

import os
import tempfile
from pathlib import Path

import pandas as pd

from modelsat.data.routerdc_scoring import refuse_stale_routerdc
from modelsat.errors import DataError

REQUIRED = ["model", "query_id", "prompt", "task", "source", "score"]
OPTIONAL = ["cost", "options", "answer", "split", "domain"]
DECLARED = {"split": ("train", "validation", "test"), "domain": ("in_domain", "out_of_domain")}
COLUMNS = REQUIRED + OPTIONAL
KEY = ["model", "query_id"]


def validate_outcomes(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check columns, types and ranges; return the table with canonical column order and dtypes.

    Raises:
        DataError: naming `origin` and the offending field when the table is malformed.
    """
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns))})")
    if df.empty:
        raise DataError(f"{origin}: no outcome rows")
    out = df.copy()
    for col in OPTIONAL:
        if col not in out.columns:
            out[col] = None
    for col in ["model", "query_id", "prompt", "task", "source"]:
        if out[col].isna().any():
            row = int(out[col].isna().to_numpy().argmax())
            raise DataError(f"{origin}: column '{col}' is empty in row {row}")
        out[col] = out[col].astype(str)
    score = pd.to_numeric(out["score"], errors="coerce")
    bad = score.isna() | (score < 0) | (score > 1)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataError(f"{origin}: column 'score' must be a number in [0, 1]; row {row} has {df['score'].iloc[row]!r}")
    out["score"] = score.astype("float64")
    out["cost"] = pd.to_numeric(out["cost"], errors="coerce").astype("float64")
    if (out["cost"] < 0).any():
        raise DataError(f"{origin}: column 'cost' has negative values")
    for col in ["options", "answer", *DECLARED]:
        values = out[col]
        out[col] = values.astype("string").astype(object).where(values.notna(), None)
    for col, allowed in DECLARED.items():
        bad = out[col].notna() & ~out[col].isin(allowed)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(
                f"{origin}: column '{col}' must be one of {', '.join(allowed)} or empty; row {row} has "
                f"{out[col].iloc[row]!r}"
            )
    dup = out.duplicated(KEY)
    if dup.any():
        first = out.loc[dup, KEY].iloc[0]
        raise DataError(
            f"{origin}: duplicate (model, query_id) pair ({first['model']}, {first['query_id']}); "
            f"{int(dup.sum())} duplicate row(s)"
        )
    return out[COLUMNS + [c for c in out.columns if c not in COLUMNS]].reset_index(drop=True)


def merge_outcomes(existing: pd.DataFrame | None, new: pd.DataFrame, *, replace: bool) -> pd.DataFrame:
    """Append `new` to `existing`; overlapping (model, query_id) pairs are an error unless `replace`."""
    if existing is None or existing.empty:
        return new.reset_index(drop=True)
    keys_new = pd.MultiIndex.from_frame(new[KEY])
    keys_old = pd.MultiIndex.from_frame(existing[KEY])
    overlap = keys_old.isin(keys_new)
    if overlap.any() and not replace:
        models = sorted(existing.loc[overlap, "model"].unique())
        raise DataError(
            f"{int(overlap.sum())} (model, query_id) pair(s) already in the table for model(s) "
            f"{', '.join(models)}; pass --replace to overwrite them"
        )
    return pd.concat([existing.loc[~overlap], new], ignore_index=True)


def read_outcomes(path: str | Path, *, refuse_stale: bool = True) -> pd.DataFrame:
    """Read and validate an outcomes Parquet file.

    Raises:
        DataError: for a missing, unreadable or malformed file, and (unless `refuse_stale` is False) for one whose
            RouterDC scores were imported before they were read as RouterDC scores them.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such outcomes file (create one with `modelsat import ...`)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
    outcomes = validate_outcomes(df, str(path))
    if refuse_stale:
        refuse_stale_routerdc(outcomes, str(path))
    return outcomes


def write_outcomes(df: pd.DataFrame, path: str | Path) -> None:
    """Write atomically: a temporary file in the same folder, then `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # Prompts repeat once per model: a dictionary as large as needed makes the file ~20x smaller and faster to read.
        df.to_parquet(tmp, index=False, compression="zstd", dictionary_pagesize_limit=1 << 28)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    """The process umask (reading it requires setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
