"""Best single model: always route to the model with the highest mean score on the train split.

The paper's "best single model" row (Model-SAT Table 1), chosen on train, never on test.

Example:
    router = BestSingleRouter().fit(train_rows, models)
    router.best  # e.g. "mathstral-7B"
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelsat.baselines.common import broadcast, model_accuracy, outcome_matrix


class BestSingleRouter:
    """Scores every query with the models' train accuracies."""

    name = "best-single"

    def __init__(self) -> None:
        self.accuracy: dict[str, float] = {}

    @property
    def best(self) -> str:
        """The train-best model (first in model order on ties)."""
        return max(self.accuracy, key=self.accuracy.__getitem__)

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "BestSingleRouter":
        """Measure each model's mean train score."""
        _, y = outcome_matrix(train, models)
        self.accuracy = dict(zip(models, model_accuracy(y).tolist(), strict=True))
        return self

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Train accuracy of each candidate, the same for every query."""
        missing = [m for m in models if m not in self.accuracy]
        if missing:
            raise ValueError(f"best-single was not fitted on {', '.join(missing)}")
        return broadcast([self.accuracy[m] for m in models], len(queries))
