"""Deterministic query splits (DESIGN §3): sha256(query_id) → train 70 % / validation 10 % / test 20 %.

A dataset that publishes its own split (RouterDC's `_train`/`_test` files) declares it in the outcomes'
`split` column: a declared test query is a test query, and a tenth of the declared train queries (by the
same hash) is kept for validation. Its `domain` column likewise overrides the source rule below.
Aptitude queries are removed before splitting by the caller (`split_outcomes(..., exclude=...)`).

Example:
    test = outcomes[split_of(outcomes["query_id"]) == "test"]
"""

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "test")
OUT_OF_DOMAIN_SOURCES = ("stemez", "theoremQA", "scibench")


def split_for(query_id: str, declared: str | None = None) -> str:
    """Return the split of one query id from the first 8 bytes of its sha256, or from its `declared` split."""
    bucket = int.from_bytes(hashlib.sha256(query_id.encode()).digest()[:8], "big") % 100
    if declared == "train":
        return "validation" if bucket < 10 else "train"
    if declared:
        return declared
    return "train" if bucket < 70 else "validation" if bucket < 80 else "test"


def split_of(query_ids: Iterable[str], declared: Iterable[str | None] | None = None) -> np.ndarray:
    """Vectorised `split_for` (hashes each distinct id once); `declared` aligns with `query_ids`."""
    ids = pd.Series(list(query_ids), dtype=str)
    if declared is None:
        lookup = {q: split_for(q) for q in ids.unique()}
        return ids.map(lookup).to_numpy()
    marks = pd.Series(list(declared), dtype=object, index=ids.index)
    keys = ids + "\0" + marks.fillna("").astype(str)
    lookup = {key: split_for(*key.split("\0")) for key in keys.unique()}
    return keys.map(lookup).to_numpy()


def declared_splits(frame: pd.DataFrame) -> pd.Series | None:
    """The `split` column of an outcomes frame when it declares any split, else None."""
    column = frame.get("split")
    return column if column is not None and column.notna().any() else None


def is_in_domain(sources: pd.Series) -> np.ndarray:
    """In-domain = MMLU-origin queries (`ori_mmlu-*` sources); everything else is out-of-domain."""
    return sources.astype(str).str.startswith("ori_mmlu").to_numpy()


def domain_of(queries: pd.DataFrame) -> np.ndarray:
    """Label each row `in_domain` or `out_of_domain`: its declared `domain`, else by its source."""
    by_source = np.where(is_in_domain(queries["source"]), "in_domain", "out_of_domain")
    declared = queries.get("domain")
    if declared is None:
        return by_source
    return np.where(declared.notna().to_numpy(), declared.to_numpy(dtype=object), by_source)


def split_outcomes(outcomes: pd.DataFrame, split: str, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Rows of `outcomes` in `split`, without the query ids in `exclude` (the aptitude set)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    excluded = set(exclude)
    mask = split_of(outcomes["query_id"], declared_splits(outcomes)) == split
    if excluded:
        mask &= ~outcomes["query_id"].isin(excluded).to_numpy()
    return outcomes[mask]
