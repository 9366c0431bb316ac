"""Calibrated P(Yes): one logistic map of the router's log-odds, fitted on validation outcomes (Platt scaling).

The training losses rank candidates, so raw log-odds need not be probabilities; cost-aware routing
(P(Yes) − λ·cost) needs them to be. `fit_calibration` fits P(good answer) = sigmoid(a·s + b) on the
router's scores s of the training zoo's validation queries (fractional outcomes count as weighted
positives and negatives). The map is the same for every model, so with a > 0 it never changes which
candidate ranks first, and a model that joins by its card is calibrated like the others.

Example:
    calibration = fit_calibration(raw_log_odds, outcomes)  # both (n_queries, n_models)
    calibration.save(router_dir / CALIBRATION_FILE)
    probs = 1 / (1 + np.exp(-calibration.apply(raw_log_odds)))
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from modelsat.errors import RouterError
from modelsat.io import atomic_write_text

CALIBRATION_FILE = "calibration.json"
FAST_CALIBRATION_FILE = "calibration-fast.json"  # the fast routing mode's scores have a scale of their own


def calibration_file(mode: str) -> str:
    """The calibration file of a routing mode ("full" or "fast")."""
    return FAST_CALIBRATION_FILE if mode == "fast" else CALIBRATION_FILE


@dataclass(frozen=True)
class Calibration:
    """log-odds' = scale · log-odds + bias, with the fit's validation size and log-loss before and after."""

    scale: float
    bias: float
    n_queries: int
    log_loss_raw: float
    log_loss_calibrated: float

    def apply(self, log_odds: np.ndarray) -> np.ndarray:
        """Calibrated log-odds (the sigmoid of which is the calibrated P(Yes))."""
        return self.scale * np.asarray(log_odds) + self.bias

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


def fit_calibration(log_odds: np.ndarray, outcomes: np.ndarray) -> Calibration:
    """Platt-scale (n_queries, n_models) raw log-odds against the outcomes of the same queries and models.

    Raises:
        RouterError: the shapes differ, there are NaNs, the outcomes are all equal, or the scores rank
            the outcomes backwards (a fitted scale ≤ 0 would reverse every ranking).
    """
    from sklearn.linear_model import LogisticRegression  # only fitting needs scikit-learn, routing does not

    s, y = np.asarray(log_odds, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    if s.shape != y.shape or s.ndim != 2:
        raise RouterError(f"scores {s.shape} and outcomes {y.shape} must be the same (queries, models) matrix")
    if not (np.isfinite(s).all() and np.isfinite(y).all()):
        raise RouterError("calibration needs finite scores and outcomes (no NaN)")
    flat_s, flat_y = s.ravel(), y.ravel()
    if flat_y.min() == flat_y.max():
        raise RouterError("calibration needs both good and bad answers among the validation outcomes")
    features = np.concatenate([flat_s, flat_s])[:, None]
    labels = np.concatenate([np.ones_like(flat_y), np.zeros_like(flat_y)])
    weights = np.concatenate([flat_y, 1 - flat_y])
    keep = weights > 0
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(features[keep], labels[keep], sample_weight=weights[keep])
    scale, bias = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if scale <= 0:
        raise RouterError(f"the router's scores do not rank the validation outcomes (fitted scale {scale:.3g} ≤ 0)")
    return Calibration(scale, bias, s.shape[0], log_loss(s, y), log_loss(scale * s + bias, y))


def fit_calibration_by_zoo(scored: Sequence[tuple[np.ndarray, np.ndarray]]) -> Calibration:
    """`fit_calibration` on one (log-odds, outcomes) pair of (Q, N) matrices per zoo: one zoo as it is, several on
    every (query, model) pair of them (each zoo's queries among its own models)."""
    if len(scored) == 1:
        return fit_calibration(*scored[0])
    log_odds = np.concatenate([s.ravel() for s, _ in scored])[None, :]
    outcomes = np.concatenate([y.ravel() for _, y in scored])[None, :]
    return replace(fit_calibration(log_odds, outcomes), n_queries=sum(s.shape[0] for s, _ in scored))
