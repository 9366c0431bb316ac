"""Helpers shared by the baselines: outcome matrices and per-query tables from long outcomes.

Example:
    queries, y = outcome_matrix(train_rows, models)  # y: (n_queries, n_models), NaN where unanswered
"""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

QUERY_COLUMNS = ("query_id", "prompt", "task", "source", "category", "split", "domain")


def outcome_matrix(outcomes: pd.DataFrame, models: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per query (query_id, prompt, task, source, category when present) and its score matrix.

    Returns:
        (queries, y): `queries` sorted by query_id; `y[i, j]` is model j's score on query i, NaN when absent.
    """
    rows = outcomes[outcomes["model"].isin(list(models))]
    cols = [c for c in QUERY_COLUMNS if c in rows.columns]
    queries = rows.drop_duplicates("query_id")[cols].sort_values("query_id").reset_index(drop=True)
    wide = rows.pivot(index="query_id", columns="model", values="score").reindex(
        index=queries["query_id"], columns=list(models)
    )
    return queries, wide.to_numpy(dtype=np.float64)


def model_accuracy(y: np.ndarray) -> np.ndarray:
    """Per-model mean score over the queries it answered (0 for a model with none)."""
    answered = (~np.isnan(y)).sum(axis=0)
    return np.nansum(y, axis=0) / np.maximum(answered, 1)


def broadcast(vector: np.ndarray, n_queries: int) -> np.ndarray:
    """The same per-model scores for every query: (n_models,) → (n_queries, n_models)."""
    return np.tile(np.asarray(vector, dtype=np.float64), (n_queries, 1))


class EmbeddingRouter:
    """Base of the learned baselines: embed prompts, fit on the train score matrix, predict per-model scores.

    Subclasses set `name` and implement `_fit(x, y)` (x: (n, d) embeddings, y: (n, m) scores, NaN =
    unanswered) and `_predict(x) -> (n, m)`. `embedder` maps texts to vectors; by default the
    cached MiniLM encoder (`modelsat.baselines.embeddings.CachedEmbedder`).
    """

    name = "embedding"

    def __init__(self, seed: int = 0, embedder: Callable[[Sequence[str]], np.ndarray] | None = None):
        self.seed = seed
        self._embedder = embedder
        self.models: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts` from the injected embedder, else the cached MiniLM one."""
        if self._embedder is None:
            from modelsat.baselines.embeddings import CachedEmbedder

            self._embedder = CachedEmbedder()
        return np.asarray(self._embedder(list(texts)), dtype=np.float32)

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "EmbeddingRouter":
        """Embed the train prompts and fit on their outcome matrix."""
        queries, y = outcome_matrix(train, models)
        self.models = list(models)
        self._fit(self.embed(queries["prompt"].tolist()), y)
        return self

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Predicted per-model scores for the requested candidates."""
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ValueError(f"{self.name} was not fitted on {', '.join(unknown)}")
        predicted = self._predict(self.embed(queries["prompt"].tolist()))
        return predicted[:, [self.models.index(m) for m in models]]

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError
