"""Routing metrics: routed accuracy (mean score of the chosen model's answers), per domain, task and
MMLU-Pro category, each model's share of the routed queries, and paired comparisons of two methods.

Example:
    choice = scores.argmax(axis=1)
    method_metrics(queries, y, choice, models)["accuracy"]
    paired_difference(routed_scores(y, choice), routed_scores(y, other_choice), seed=0)["ci95"]
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from modelsat.data.splits import domain_of

DOMAINS = ("in_domain", "out_of_domain")


def routed_scores(y: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Score of the chosen model on each query: y[i, choice[i]]."""
    return y[np.arange(len(y)), choice]


def group_means(values: np.ndarray, labels: Sequence[str] | np.ndarray) -> dict[str, float]:
    """Mean of `values` per label, sorted by label."""
    series = pd.Series(values).groupby(np.asarray(labels)).mean()
    return {str(k): float(v) for k, v in series.sort_index().items()}


def declares_domains(queries: pd.DataFrame) -> bool:
    """Whether the queries declare their domains (RouterDC's protocol), so accuracies are averaged over tasks."""
    declared = queries.get("domain")
    return declared is not None and bool(declared.notna().any())


def task_weights(queries: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per query, its weight in the task-averaged accuracy of all queries and of each domain (RouterDC's protocol:
    every task counts the same, whatever its size); a domain's weights are 0 outside it and sum to 1."""
    domains = domain_of(queries)
    tasks = queries["task"].astype(str).to_numpy()
    out = {}
    for name, mask in [("all", np.ones(len(queries), dtype=bool))] + [(d, domains == d) for d in DOMAINS]:
        weights = np.zeros(len(queries))
        labels = tasks[mask]
        if len(labels):
            sizes = pd.Series(labels).map(pd.Series(labels).value_counts()).to_numpy()
            weights[mask] = 1.0 / (sizes * len(np.unique(labels)))
        out[name] = weights
    return out


def task_averaged(routed: np.ndarray, weights: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Task-averaged accuracy of all queries and per domain (None for a domain without queries)."""
    return {name: float(routed @ w) if w.any() else None for name, w in weights.items()}


def method_metrics(queries: pd.DataFrame, y: np.ndarray, choice: np.ndarray, models: Sequence[str]) -> dict:
    """All metrics of one routing decision `choice` (model index per query).

    Returns:
        {accuracy, by_domain: {in_domain, out_of_domain}, task_averaged: {all, in_domain, out_of_domain},
        by_task, by_category, share}; a domain with no query is None, `by_category` is empty without a
        `category` column.
    """
    routed = routed_scores(y, choice)
    domains = group_means(routed, domain_of(queries))
    counts = np.bincount(choice, minlength=len(models))
    return {
        "accuracy": float(routed.mean()),
        "by_domain": {d: domains.get(d) for d in DOMAINS},
        "task_averaged": task_averaged(routed, task_weights(queries)),
        "by_task": group_means(routed, queries["task"].astype(str)),
        "by_category": group_means(routed, queries["category"].astype(str)) if "category" in queries else {},
        "share": {m: float(c / len(choice)) for m, c in zip(models, counts, strict=True)},
    }


def paired_difference(
    routed: np.ndarray, other: np.ndarray, seed: int, resamples: int = 2000, weights: np.ndarray | None = None
) -> dict:
    """Mean of `routed − other` (two methods' scores on the same queries) with a 95 % paired-bootstrap
    interval (percentile method, resampling queries); the interval is [d, d] when every query scores the same.
    `weights` (e.g. a domain's `task_weights`) make it a weighted mean over the queries weighted above 0."""
    diff = np.asarray(routed, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    if weights is not None:
        diff, weights = diff[weights > 0], weights[weights > 0]
    mean = float(diff.mean() if weights is None else np.average(diff, weights=weights))
    if np.ptp(diff) == 0:
        return {"difference": mean, "ci95": [mean, mean]}
    if weights is None:
        result = bootstrap((diff,), np.mean, n_resamples=resamples, method="percentile", rng=seed)
    else:
        result = bootstrap(
            (diff, weights), _weighted_mean, n_resamples=resamples, method="percentile", rng=seed, paired=True
        )
    interval = result.confidence_interval
    return {"difference": mean, "ci95": [float(interval.low), float(interval.high)]}


def _weighted_mean(values: np.ndarray, weights: np.ndarray, axis: int = -1) -> np.ndarray:
    """Σ w·v / Σ w along `axis` (the bootstrap statistic of a weighted paired difference)."""
    return (values * weights).sum(axis=axis) / weights.sum(axis=axis)


def choices(scores: np.ndarray) -> np.ndarray:
    """Routing decision: the highest-scoring model per query (first on ties)."""
    if not np.isfinite(scores).any(axis=1).all():
        raise ValueError("a router returned no finite score for some query")
    return np.nan_to_num(scores, nan=-np.inf).argmax(axis=1)


def new_model_metrics(y: np.ndarray, choice: np.ndarray, models: Sequence[str], new: Sequence[str]) -> dict:
    """For each model in `new`: its routed share, queries routed to it and their mean score (None if none)."""
    out = {}
    for name in new:
        j = list(models).index(name)
        mask = choice == j
        out[name] = {
            "share": float(mask.mean()),
            "n_routed": int(mask.sum()),
            "accuracy_when_routed": float(y[mask, j].mean()) if mask.any() else None,
        }
    return out
