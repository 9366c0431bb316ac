"""Leave-models-out evaluation: what adding models the router never trained on is worth (`evaluate --holdout`).

Every method here scores each candidate on its own, so routing the zoo *without* the new models is the
argmax over the other columns of the same scores: Model-SAT and the zero-shot peers (`card-lookup`,
`uniroute`) see the new models through their aptitude answers only, while the supervised references
(kNN, per-category, ...) were fitted with the new models' train labels. Their gains side by side say
how much of a label-trained router's gain Model-SAT realises from cards alone.

Example:
    section = new_models_section(data.queries, data.y, data.models, picks_scores, ["gemini-1.5-pro-002"], seed=0)
    section["gain"]["model-sat"]["difference"], section["realised"]["knn"]
"""

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from modelsat.evaluation.metrics import paired_difference, routed_scores

ZERO_SHOT = (
    "model-sat",
    "model-sat-fast",
    "card-lookup",
    "uniroute",
)  # see new models through their aptitude answers only
SUPERVISED = ("knn", "per-category", "per-task", "mlp")  # refitted with the new models' train labels
MAX_SUBSETS = 8  # subsets of the new models averaged per count in the gain curve


def restricted_choice(scores: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """Model index (into the full zoo) of the best-scoring model among `columns`, per query."""
    cols = np.asarray(columns)
    return cols[np.nan_to_num(scores[:, cols], nan=-np.inf).argmax(axis=1)]


def hindsight_category_choice(queries: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """Per query, the model that is best on the test answers of its category (the whole set without a category)."""
    labels = queries["category"].astype(str).to_numpy() if "category" in queries else np.zeros(len(y), dtype=str)
    choice = np.zeros(len(y), dtype=int)
    for label in np.unique(labels):
        mask = labels == label
        choice[mask] = int(y[mask].mean(axis=0).argmax())
    return choice


def gain_curve(y: np.ndarray, scores: dict[str, np.ndarray], old: list[int], new: list[int], seed: int) -> dict:
    """Routed accuracy with 0..len(new) of the new models added: the mean over every subset of each size, or over
    MAX_SUBSETS of them drawn with `seed` where there are more."""
    rng = np.random.default_rng(seed)
    counts = list(range(len(new) + 1))
    curve: dict[str, list[float]] = {name: [] for name in scores}
    for count in counts:
        subsets = list(combinations(new, count))
        if len(subsets) > MAX_SUBSETS:
            subsets = [subsets[i] for i in sorted(rng.choice(len(subsets), MAX_SUBSETS, replace=False))]
        for name, matrix in scores.items():
            accs = [routed_scores(y, restricted_choice(matrix, old + list(s))).mean() for s in subsets]
            curve[name].append(float(np.mean(accs)))
    return {"n_new": counts, "accuracy": curve}


def new_models_section(
    queries: pd.DataFrame,
    y: np.ndarray,
    models: Sequence[str],
    scores: dict[str, np.ndarray],
    new: Sequence[str],
    seed: int,
) -> dict:
    """The report's `new_models` section for the held-out models `new` (all of them in `models`).

    Returns:
        {models, old_zoo, best_new: {model, accuracy}, accuracy: {method: {with, without}}, gain: {method:
        paired_difference}, realised: {reference: Model-SAT gain / reference gain}, share: {model: {method:
        share, "hindsight-per-category": share}}, curve: gain_curve(...)}; methods without scores are absent.
    """
    models = list(models)
    new_cols = [models.index(m) for m in new]
    old_cols = [j for j in range(len(models)) if j not in new_cols]
    methods = {n: s for n, s in scores.items() if n != "random"}
    with_new = {n: restricted_choice(s, range(len(models))) for n, s in methods.items()}
    without = {n: restricted_choice(s, old_cols) for n, s in methods.items()}
    accuracy = {
        n: {"with": float(routed_scores(y, with_new[n]).mean()), "without": float(routed_scores(y, without[n]).mean())}
        for n in methods
    }
    gain = {
        n: paired_difference(routed_scores(y, with_new[n]), routed_scores(y, without[n]), seed)
        for n in methods
        if n in ZERO_SHOT + SUPERVISED + ("oracle",)
    }
    realised = {}
    if "model-sat" in gain:
        ours = gain["model-sat"]["difference"]
        for ref in SUPERVISED + ("oracle",):
            if ref in gain and gain[ref]["difference"] > 0:
                realised[ref] = ours / gain[ref]["difference"]
    hindsight = hindsight_category_choice(queries, y)
    share = {
        m: {n: float((with_new[n] == j).mean()) for n in methods}
        | {"hindsight-per-category": float((hindsight == j).mean())}
        for m, j in zip(new, new_cols, strict=True)
    }
    singles = y.mean(axis=0)
    best = max(new_cols, key=lambda j: singles[j])
    return {
        "models": list(new),
        "old_zoo": [models[j] for j in old_cols],
        "best_new": {"model": models[best], "accuracy": float(singles[best])},
        "accuracy": accuracy,
        "gain": gain,
        "realised": realised,
        "share": share,
        "curve": gain_curve(y, methods, old_cols, new_cols, seed),
    }
