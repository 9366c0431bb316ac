"""Accuracy against the number of candidates: random sub-zoos of each size, every method restricted to them.

Every method here scores each candidate independently (Model-SAT scores each card on its own, the
baselines predict per-model scores), so a sub-zoo's decision is the argmax over its columns. Learned
baselines keep the weights fitted on the full zoo; best-single, per-task/category, kNN and the
oracle are exactly what they would be if fitted on the sub-zoo. `random` is its expected value.

Example:
    curve = candidates_curve(y, {"oracle": y, "knn": knn_scores}, n_subsets=8, seed=0)
    curve["sizes"], curve["accuracy"]["knn"]
"""

from itertools import combinations
from math import comb

import numpy as np


def subsets_of_size(n_models: int, size: int, n_subsets: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """All subsets when there are at most `n_subsets`, else `n_subsets` distinct random ones."""
    if comb(n_models, size) <= n_subsets:
        return list(combinations(range(n_models), size))
    seen: set[tuple[int, ...]] = set()
    while len(seen) < n_subsets:
        seen.add(tuple(sorted(rng.choice(n_models, size=size, replace=False).tolist())))
    return sorted(seen)


def candidates_curve(y: np.ndarray, scores: dict[str, np.ndarray], n_subsets: int, seed: int) -> dict:
    """Mean routed accuracy over random sub-zoos of sizes 2..N for each method.

    Args:
        y: (n_queries, n_models) test outcomes.
        scores: method → (n_queries, n_models) scores on the full zoo.
        n_subsets: sub-zoos drawn per size.
        seed: seeds the draw.

    Returns:
        {"sizes": [...], "accuracy": {method: [mean accuracy per size]}}
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(len(y))
    sizes = list(range(2, y.shape[1] + 1))
    curve: dict[str, list[float]] = {name: [] for name in scores}
    for size in sizes:
        subsets = subsets_of_size(y.shape[1], size, n_subsets, rng)
        for name, matrix in scores.items():
            accs = []
            for cols in subsets:
                sub = list(cols)
                if name == "random":
                    accs.append(float(y[:, sub].mean()))
                else:
                    pick = np.nan_to_num(matrix[:, sub], nan=-np.inf).argmax(axis=1)
                    accs.append(float(y[rows, np.asarray(sub)[pick]].mean()))
            curve[name].append(float(np.mean(accs)))
    return {"sizes": sizes, "n_subsets": n_subsets, "accuracy": curve}
