"""The cost-aware decision rule: maximise utility − λ·cost, optionally only among models costing ≤ max_cost.

Utility is the router's estimated probability of a good answer: P(Yes) for Model-SAT, a predicted
score in [0, 1] for the baselines (`as_utility` maps log-odds to probabilities). λ is in utility per
USD: λ = 1000 trades one point of P(Yes) for 1/1000 USD. λ = 0 is quality-only routing (the same
argmax, ties to the first model); λ = ∞ picks the cheapest model (ties to the higher utility). When
no model fits under `max_cost`, the cheapest model is chosen and the decision says so.

Example:
    decision = decide(np.array([[0.9, 0.6]]), np.array([[0.01, 0.001]]), lam=100.0)
    decision.choice  # array([1]): 0.9 - 1.0 < 0.6 - 0.1
"""

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Decision:
    """Chosen model per query, and which queries had no model under `max_cost` (cheapest chosen)."""

    choice: np.ndarray  # (n_queries,) model index
    over_budget: np.ndarray  # (n_queries,) bool


def as_utility(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities: kept when all lie in [0, 1] (give or take the baselines' 1e-6 tie-breaks),
    else read as log-odds and passed through a sigmoid."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    if finite.size and finite.min() >= -1e-3 and finite.max() <= 1 + 1e-3:
        return scores
    return 1 / (1 + np.exp(-scores))


def net_utility(utility: np.ndarray, cost: np.ndarray, lam: float, max_cost: float | None = None) -> np.ndarray:
    """utility − λ·cost, −inf where cost > max_cost; λ = ∞ ranks by cost alone with utility breaking ties."""
    if lam < 0 or math.isnan(lam):
        raise ValueError(f"lambda must be >= 0, got {lam}")
    utility, cost = np.asarray(utility, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    if utility.shape != cost.shape:
        raise ValueError(f"utility {utility.shape} and cost {cost.shape} differ in shape")
    if math.isinf(lam):
        # Rank by −cost; utility (bounded by 1) scaled below the smallest cost gap only breaks ties.
        gaps = np.diff(np.unique(cost))
        step = gaps.min() if gaps.size else 1.0
        net = -cost + utility * step / (4 * max(1.0, np.abs(utility).max(initial=0.0)))
    else:
        net = utility - lam * cost
    if max_cost is not None:
        net = np.where(cost <= max_cost, net, -np.inf)
    return net


def decide(utility: np.ndarray, cost: np.ndarray, lam: float = 0.0, max_cost: float | None = None) -> Decision:
    """The routing decision for (n_queries, n_models) utilities and costs (USD per query)."""
    net = net_utility(utility, cost, lam, max_cost)
    over = ~np.isfinite(net).any(axis=1)
    choice = np.where(over, np.asarray(cost).argmin(axis=1), net.argmax(axis=1))
    return Decision(choice=choice, over_budget=over)


def ranking(utility: np.ndarray, cost: np.ndarray, lam: float = 0.0, max_cost: float | None = None) -> list[int]:
    """One query's candidates, best first under the trade-off; models over `max_cost` are left out
    (only the cheapest is kept when none fits)."""
    net = net_utility(np.asarray(utility)[None, :], np.asarray(cost)[None, :], lam, max_cost)[0]
    fits = np.flatnonzero(np.isfinite(net))
    if not fits.size:
        return [int(np.asarray(cost).argmin())]
    return [int(i) for i in fits[np.argsort(-net[fits], kind="stable")]]
