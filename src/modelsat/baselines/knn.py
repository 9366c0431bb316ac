"""k-nearest-neighbour router over sentence embeddings (the paper's "kNN" text-only ablation row).

A query's score for a model is that model's mean score on the k most similar train prompts
(cosine similarity of mean-pooled MiniLM embeddings), as in the kNN routers of RouterBench
(Hu et al., 2024) and Model-SAT's ablation (Table 3). Ties go to the train-best model.

Example:
    router = KnnRouter(k=50).fit(train_rows, models)
    router.score(test_queries, models)
"""

from collections.abc import Callable, Sequence

import numpy as np

from modelsat.baselines.common import EmbeddingRouter, model_accuracy


def neighbour_mean(similarity: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Mean of `y` over each row's k most similar train items (NaNs ignored), plus a train-mean tie-break.

    Args:
        similarity: (n_queries, n_train) similarities.
        y: (n_train, n_models) train scores, NaN where unanswered.
        k: neighbours per query.
    """
    k = min(k, similarity.shape[1])
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]  # (n_queries, k)
    neighbours = y[top]  # (n_queries, k, n_models)
    answered = (~np.isnan(neighbours)).sum(axis=1)
    mean = np.nansum(neighbours, axis=1) / np.maximum(answered, 1)
    return mean + 1e-6 * model_accuracy(y)


class KnnRouter(EmbeddingRouter):
    """Mean outcome of the k nearest train prompts in embedding space."""

    name = "knn"

    def __init__(self, k: int = 50, seed: int = 0, embedder: Callable[[Sequence[str]], np.ndarray] | None = None):
        super().__init__(seed=seed, embedder=embedder)
        self.k = k

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12), y

    def _predict(self, x: np.ndarray) -> np.ndarray:
        x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
        return neighbour_mean(x @ self.x.T, self.y, self.k)
