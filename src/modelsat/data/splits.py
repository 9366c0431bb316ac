"""Deterministic query splits (DESIGN §3): sha256(query_id) → train 70 % / validation 10 % / test 20 %.

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


def split_for(query_id: str) -> str:
    """Return the split of one query id from the first 8 bytes of its sha256."""
    bucket = int.from_bytes(hashlib.sha256(query_id.encode()).digest()[:8], "big") % 100
    return "train" if bucket < 70 else "validation" if bucket < 80 else "test"


def split_of(query_ids: Iterable[str]) -> np.ndarray:
    """Vectorised `split_for` (hashes each distinct id once)."""
    ids = pd.Series(list(query_ids), dtype=str)
    uniq = ids.unique()
    lookup = {q: split_for(q) for q in uniq}
    return ids.map(lookup).to_numpy()


def is_in_domain(sources: pd.Series) -> np.ndarray:
    """In-domain = MMLU-origin queries (`ori_mmlu-*` sources); everything else is out-of-domain."""
    return sources.astype(str).str.startswith("ori_mmlu").to_numpy()


def domain_of(sources: pd.Series) -> np.ndarray:
    """Label each row `in_domain` or `out_of_domain`."""
    return np.where(is_in_domain(sources), "in_domain", "out_of_domain")


def split_outcomes(outcomes: pd.DataFrame, split: str, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Rows of `outcomes` in `split`, without the query ids in `exclude` (the aptitude set)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    excluded = set(exclude)
    mask = split_of(outcomes["query_id"]) == split
    if excluded:
        mask &= ~outcomes["query_id"].isin(excluded).to_numpy()
    return outcomes[mask]
