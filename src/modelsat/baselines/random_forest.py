"""Random forest on frozen sentence embeddings (the paper's "Random Forest" text-only ablation row).

One multi-output scikit-learn `RandomForestRegressor` fitted to the 0/1 (or graded) score of every
model; its prediction is each model's expected score. Train queries some model did not answer
are left out (forests need complete targets).

Example:
    router = RandomForestRouter(n_estimators=100).fit(train_rows, models)
"""

from collections.abc import Callable, Sequence

import numpy as np

from modelsat.baselines.common import EmbeddingRouter


class RandomForestRouter(EmbeddingRouter):
    """Multi-output forest: embedding → expected score per model."""

    name = "random-forest"

    def __init__(
        self,
        n_estimators: int = 100,
        min_samples_leaf: int = 5,
        seed: int = 0,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ):
        super().__init__(seed=seed, embedder=embedder)
        self.n_estimators, self.min_samples_leaf = n_estimators, min_samples_leaf

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        complete = ~np.isnan(y).any(axis=1)
        self.forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features="sqrt",
            n_jobs=2,
            random_state=self.seed,
        ).fit(x[complete], y[complete])

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self.forest.predict(x).reshape(len(x), -1)
