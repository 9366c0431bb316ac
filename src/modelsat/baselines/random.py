"""Random routing: every candidate equally likely, so the expected accuracy is the zoo's mean accuracy.

The paper's "Random" row (Model-SAT Table 1). Seeded: the same seed, queries and models give the
same choices.

Example:
    choice = RandomRouter(seed=0).score(queries, models).argmax(axis=1)
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd


class RandomRouter:
    """Uniform random scores from a seeded generator."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """I.i.d. uniform scores (ties have probability zero), so each model wins with probability 1/N."""
        return np.random.default_rng(self.seed).random((len(queries), len(models)))
