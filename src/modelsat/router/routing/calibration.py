"""Calibrated P(Yes): one logistic map of the router's log-odds, fitted on validation outcomes (Platt scaling),
with a level per aptitude task where that fits the outcomes better.

The training losses rank candidates, so raw log-odds need not be probabilities; cost-aware routing
(P(Yes) − λ·cost) needs them to be. `fit_calibration` fits P(good answer) = sigmoid(a·s + b) on the
router's scores s of the training zoo's validation queries (fractional outcomes count as weighted
positives and negatives). Given each query's nearest aptitude task, it also fits sigmoid(a·s + b + d_t):
one λ weighs P(Yes) against cost for every kind of request alike, so P(Yes) must sit at the right level on
each kind, not only in the right order within it. The levels d_t are shrunk towards 0 (a task without
validation queries keeps 0) and kept only when they predict held-out validation queries better (two-fold
log-loss). Every term is the same for every model of a request, so with a > 0 the calibration never changes
which candidate ranks first, and a model that joins by its card is calibrated like the others.

Example:
    calibration = fit_calibration(raw_log_odds, outcomes, tasks)  # (n_queries, n_models) twice; a task per query
    calibration.save(router_dir / CALIBRATION_FILE)
    probs = 1 / (1 + np.exp(-calibration.apply(raw_log_odds, tasks)))
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from modelsat.errors import RouterError
from modelsat.io import atomic_write_text

CALIBRATION_FILE = "calibration.json"
FAST_CALIBRATION_FILE = "calibration-fast.json"  # the fast routing mode's scores have a scale of their own
TASK_LEVEL_C = 0.1  # inverse strength of the L2 penalty on the task levels (validation AIQ and log-loss, docs/cost.md)


def calibration_file(mode: str) -> str:
    """The calibration file of a routing mode ("full" or "fast")."""
    return FAST_CALIBRATION_FILE if mode == "fast" else CALIBRATION_FILE


@dataclass(frozen=True)
class Calibration:
    """log-odds' = scale · log-odds + bias (+ the level of the request's nearest aptitude task), with the fit's
    validation size and log-loss before and after."""

    scale: float
    bias: float
    n_queries: int
    log_loss_raw: float
    log_loss_calibrated: float
    task_bias: dict[str, float] = field(default_factory=dict)  # aptitude task → level; empty: one map for all

    def apply(self, log_odds: np.ndarray, tasks: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated (Q, N) log-odds (the sigmoid of which is the calibrated P(Yes)); `tasks`: each request's
        nearest aptitude task, needed when the calibration has task levels.

        Raises:
            RouterError: task levels without `tasks`, or not one task per request.
        """
        out = self.scale * np.asarray(log_odds) + self.bias
        if not self.task_bias:
            return out
        if tasks is None or len(tasks) != len(out):
            raise RouterError("this calibration has a level per aptitude task: give each request's nearest task")
        return out + np.array([self.task_bias.get(t, 0.0) for t in tasks])[:, None]

    def save(self, path: Path) -> None:
        """Write as JSON, atomically."""
        atomic_write_text(Path(path), json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        """Read a calibration file.

        Raises:
            RouterError: the file is not a calibration of this format, or its scale is not positive.
        """
        try:
            raw = json.loads(Path(path).read_text())
            calibration = cls(**raw)
        except (json.JSONDecodeError, TypeError) as exc:
            raise RouterError(f"{path}: not a calibration file ({exc}); re-run `modelsat calibrate`") from exc
        if not calibration.scale > 0:
            raise RouterError(f"{path}: scale must be positive, got {calibration.scale}")
        return calibration


def log_loss(log_odds: np.ndarray, outcomes: np.ndarray) -> float:
    """Mean binary cross-entropy of sigmoid(log_odds) against outcomes in [0, 1]."""
    s, y = np.asarray(log_odds, dtype=np.float64).ravel(), np.asarray(outcomes, dtype=np.float64).ravel()
    return float(np.mean(y * np.logaddexp(0, -s) + (1 - y) * np.logaddexp(0, s)))


@dataclass(frozen=True)
class _Pairs:
    """Every (query, model) pair of a fit, flattened: score, outcome, the query's index and its task's index."""

    score: np.ndarray
    outcome: np.ndarray
    query: np.ndarray
    task: np.ndarray

    def take(self, keep: np.ndarray) -> "_Pairs":
        return _Pairs(self.score[keep], self.outcome[keep], self.query[keep], self.task[keep])


def _fit_map(pairs: _Pairs, n_tasks: int) -> tuple[float, float, np.ndarray]:
    """(scale, bias, level per task): a weighted logistic fit of the outcomes, the levels L2-shrunk to 0 (none with
    `n_tasks` 0)."""
    from sklearn.linear_model import LogisticRegression  # only fitting needs scikit-learn, routing does not

    columns = [pairs.score[:, None]]
    if n_tasks:
        columns.append(np.eye(n_tasks)[pairs.task])
    features = np.vstack([np.hstack(columns)] * 2)
    labels = np.concatenate([np.ones_like(pairs.outcome), np.zeros_like(pairs.outcome)])
    weights = np.concatenate([pairs.outcome, 1 - pairs.outcome])
    keep = weights > 0
    c = TASK_LEVEL_C if n_tasks else 1e6
    fit = LogisticRegression(C=c, max_iter=2000).fit(features[keep], labels[keep], sample_weight=weights[keep])
    return float(fit.coef_[0, 0]), float(fit.intercept_[0]), fit.coef_[0, 1:]


def _held_out_log_loss(pairs: _Pairs, n_queries: int, n_tasks: int) -> float:
    """Log-loss of the map fitted on half of the queries, read on the other half, both ways round."""
    half = np.random.default_rng(0).permutation(n_queries) < n_queries // 2
    losses = []
    for held in (half, ~half):
        seen, unseen = pairs.take(~held[pairs.query]), pairs.take(held[pairs.query])
        scale, bias, levels = _fit_map(seen, n_tasks)
        level = levels[unseen.task] if n_tasks else 0.0
        losses.append(log_loss(scale * unseen.score + bias + level, unseen.outcome) * len(unseen.score))
    return sum(losses) / len(pairs.score)


def fit_calibration(
    log_odds: np.ndarray, outcomes: np.ndarray, tasks: Sequence[str] | None = None, levels: bool | None = None
) -> Calibration:
    """Platt-scale (n_queries, n_models) raw log-odds against the outcomes of the same queries and models; with
    `tasks` (each query's nearest aptitude task), a level per task too, kept when it predicts held-out queries
    better (`levels` True or False: kept or not, without that test).

    Raises:
        RouterError: the shapes differ, there are NaNs, the outcomes are all equal, or the scores rank
            the outcomes backwards (a fitted scale ≤ 0 would reverse every ranking).
    """
    return fit_calibration_by_zoo([(log_odds, outcomes)], None if tasks is None else [tasks], levels)


def fit_calibration_by_zoo(
    scored: Sequence[tuple[np.ndarray, np.ndarray]],
    tasks: Sequence[Sequence[str]] | None = None,
    levels: bool | None = None,
) -> Calibration:
    """`fit_calibration` on one (log-odds, outcomes) pair of (Q, N) matrices per zoo (each zoo's queries among its
    own models), every (query, model) pair of them in one fit; `tasks`: each zoo's queries' nearest tasks."""
    matrices = [(np.asarray(s, dtype=np.float64), np.asarray(y, dtype=np.float64)) for s, y in scored]
    for s, y in matrices:
        if s.shape != y.shape or s.ndim != 2:
            raise RouterError(f"scores {s.shape} and outcomes {y.shape} must be the same (queries, models) matrix")
        if not (np.isfinite(s).all() and np.isfinite(y).all()):
            raise RouterError("calibration needs finite scores and outcomes (no NaN)")
    n_queries = sum(s.shape[0] for s, _ in matrices)
    per_query = [t for zoo in tasks for t in zoo] if tasks is not None else []
    if tasks is not None and len(per_query) != n_queries:
        raise RouterError(f"{len(per_query)} tasks for {n_queries} validation queries: one task per query")
    names = sorted(set(per_query))
    task_index = np.array([names.index(t) for t in per_query] or [0] * n_queries)
    query_index = np.concatenate([np.repeat(np.arange(s.shape[0]), s.shape[1]) for s, _ in matrices])
    query_index += np.repeat(np.cumsum([0] + [s.shape[0] for s, _ in matrices])[:-1], [s.size for s, _ in matrices])
    pairs = _Pairs(
        np.concatenate([s.ravel() for s, _ in matrices]),
        np.concatenate([y.ravel() for _, y in matrices]),
        query_index,
        task_index[query_index],
    )
    if pairs.outcome.size == 0 or pairs.outcome.min() == pairs.outcome.max():
        raise RouterError("calibration needs both good and bad answers among the validation outcomes")
    if levels is None:
        levels = len(names) > 1 and (
            _held_out_log_loss(pairs, n_queries, len(names)) < _held_out_log_loss(pairs, n_queries, 0)
        )
    n_tasks = len(names) if levels and len(names) > 1 else 0
    scale, bias, fitted = _fit_map(pairs, n_tasks)
    if scale <= 0:
        raise RouterError(f"the router's scores do not rank the validation outcomes (fitted scale {scale:.3g} ≤ 0)")
    calibrated = scale * pairs.score + bias + (fitted[pairs.task] if n_tasks else 0.0)
    return Calibration(
        scale,
        bias,
        int(n_queries),
        log_loss(pairs.score, pairs.outcome),
        log_loss(calibrated, pairs.outcome),
        {name: float(level) for name, level in zip(names, fitted, strict=True)} if n_tasks else {},
    )
