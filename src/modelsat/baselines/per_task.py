"""Best model per task label (or per MMLU-Pro category), chosen on train; best single model otherwise.

A strong label-aware baseline: it is given the query's task/category for free, which a real
router never sees (DESIGN §3 reports 45.8 % per category on small-5). Labels unseen in train, or
queries without the column, fall back to the train-best model.

Example:
    router = PerCategoryRouter().fit(train_rows, models)
    router.score(test_queries, models)
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelsat.baselines.common import model_accuracy, outcome_matrix


class PerTaskRouter:
    """Per-label train accuracies; `column` is the query column holding the label."""

    name = "per-task"
    column = "task"

    def __init__(self) -> None:
        self.models: list[str] = []
        self.overall = np.zeros(0)
        self.by_label: dict[str, np.ndarray] = {}

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "PerTaskRouter":
        """Per-model train accuracy overall and within each label."""
        queries, y = outcome_matrix(train, models)
        self.models = list(models)
        self.overall = model_accuracy(y)
        self.by_label = {}
        if self.column in queries.columns:
            for label, idx in queries.groupby(self.column).indices.items():
                self.by_label[str(label)] = model_accuracy(y[idx])
        return self

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Label accuracy plus a tiny multiple of the overall accuracy, so ties go to the train-best model."""
        cols = [self.models.index(m) for m in models]
        overall = self.overall[cols]
        labels = queries[self.column].astype(str) if self.column in queries.columns else [None] * len(queries)
        table = {label: acc[cols] for label, acc in self.by_label.items()}
        rows = [table.get(label, overall) + 1e-6 * overall for label in labels]
        return np.array(rows, dtype=np.float64).reshape(len(queries), len(models))


class PerCategoryRouter(PerTaskRouter):
    """Best model per MMLU-Pro `category` (14 labels), chosen on train."""

    name = "per-category"
    column = "category"
