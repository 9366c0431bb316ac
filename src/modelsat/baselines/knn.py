"""k-nearest-neighbour router over sentence embeddings (the paper's "kNN" text-only ablation row).

A query's score for a model is that model's mean score on the k most similar train prompts
(cosine similarity of mean-pooled MiniLM embeddings; every prompt tied with the k-th counts), as
in the kNN routers of RouterBench (Hu et al., 2024) and Model-SAT's ablation (Table 3). Equal
scores go to the train-best model.

Example:
    router = KnnRouter(k=50).fit(train_rows, models)
    router.score(test_queries, models)
"""

from collections.abc import Callable, Sequence

import numpy as np

from modelsat.baselines.common import EmbeddingRouter, model_accuracy

TIE_TOLERANCE = 1e-6  # similarities this close to the k-th largest count as tied with it


def neighbour_mean(similarity: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Mean of `y` over each row's k most similar train items (NaNs ignored), plus a train-mean tie-break.

    Train items tied with the k-th most similar one (within `TIE_TOLERANCE`) all count, as in R's
    `class::knn`: prompts that open with the same few-shot examples embed identically, and picking k
    of them by index or by floating-point noise would make the scores depend on batch size and CPU.

    Args:
        similarity: (n_queries, n_train) similarities.
        y: (n_train, n_models) train scores, NaN where unanswered.
        k: neighbours per query (more when the k-th is tied).
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    k = min(k, similarity.shape[1])
    kth = -np.partition(-similarity, k - 1, axis=1)[:, k - 1 : k]  # (n_queries, 1)
    neighbour = (similarity >= kth - TIE_TOLERANCE).astype(np.float64)  # (n_queries, n_train)
    answered = neighbour @ (~np.isnan(y))
    mean = (neighbour @ np.nan_to_num(y)) / np.maximum(answered, 1)
    return mean + 1e-6 * model_accuracy(y)


class KnnRouter(EmbeddingRouter):
    """Mean outcome of the k nearest train prompts in embedding space."""

    name = "knn"

    def __init__(self, k: int = 50, seed: int = 0, embedder: Callable[[Sequence[str]], np.ndarray] | None = None):
        super().__init__(seed=seed, embedder=embedder)
        self.k = k

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)  # float64 products: the same similarities in any batch
        self.x, self.y = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12), y

    def _predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
        return neighbour_mean(x @ self.x.T, self.y, self.k)
