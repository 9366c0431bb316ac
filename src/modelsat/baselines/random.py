"""Random routing: every candidate equally likely, so the expected accuracy is the zoo's mean accuracy.

The paper's "Random" row (Model-SAT Table 1). Each (query, model) score is a hash of the seed, the
query id and the model name, so a query gets the same choice whatever batch or order it comes in.

Example:
    choice = RandomRouter(seed=0).score(queries, models).argmax(axis=1)
"""

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd


class RandomRouter:
    """Uniform pseudo-random scores keyed by (seed, query_id, model)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _uniform(self, query_id: str, model: str) -> float:
        """A uniform number in [0, 1) from the first 8 bytes of a sha256."""
        digest = hashlib.sha256(f"{self.seed}\0{query_id}\0{model}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Independent uniform scores (ties have probability ~0), so each model wins with probability 1/N."""
        rows = [[self._uniform(q, m) for m in models] for q in queries["query_id"].astype(str)]
        return np.array(rows, dtype=np.float64).reshape(len(queries), len(models))
