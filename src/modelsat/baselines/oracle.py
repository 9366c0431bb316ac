"""Oracle: routes each query to a model that answered it best (its true score). An upper bound.

Needs the outcomes of the evaluated queries, so it is built with them (the test rows); it is not
a router one could deploy. Ties prefer the first model in candidate order.

Example:
    oracle = OracleRouter(outcomes=test_rows)
    upper_bound = oracle.score(test_queries, models)
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd


class OracleRouter:
    """Scores are the true outcomes."""

    name = "oracle"

    def __init__(self, outcomes: pd.DataFrame):
        self.table = outcomes.pivot_table(index="query_id", columns="model", values="score", aggfunc="first")

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """True scores; a (query, model) pair without an outcome scores −inf (never chosen over a real one)."""
        missing = [m for m in models if m not in self.table.columns]
        if missing:
            raise ValueError(f"oracle has no outcomes for {', '.join(missing)}")
        y = self.table.reindex(index=queries["query_id"], columns=list(models)).to_numpy(dtype=np.float64)
        return np.where(np.isnan(y), -np.inf, y)
