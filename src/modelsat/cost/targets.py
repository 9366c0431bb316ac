"""Quality–cost targets in plain terms, calibrated into the decision rule's λ on a router's validation outcomes.

- `quality: 0.95`: the cheapest routing whose accuracy is at least 95 % of the strongest candidate's.
- `budget: 0.3`: the most accurate routing that costs at most 30 % of the strongest candidate's cost.
- `strong_share: 0.5`: for a zoo of one strong and one weak model, send about half of the queries to the strong one.

The strongest candidate is the model with the highest validation accuracy. Calibration sweeps λ of
`argmax P(Yes) − λ·cost` (`cost/policy.py`) over a fine grid on the validation queries and keeps, per λ,
the routed accuracy, mean cost and share sent to the strongest model: the `TargetCurve`, stored with the
router (`targets.json`, `targets-fast.json` for fast mode). A target then reads its λ off the curve: the
largest λ whose accuracy meets `quality`, the smallest whose cost meets `budget`, the one whose strong
share is nearest `strong_share`. The curve's accuracy and cost at that λ are what the target expects.

Example:
    curve = fit_curve(p_yes, cost, y, models)        # validation (n_queries, n_models) arrays
    curve.save(router / targets_file("full"))
    choice = curve.resolve(Target(quality=0.95))
    choice.lam, choice.expected_accuracy, choice.expected_cost
"""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from modelsat.cost.policy import decide
from modelsat.errors import ConfigError, DataError

TARGETS_FILE, FAST_TARGETS_FILE = "targets.json", "targets-fast.json"
STANDARD_TARGETS = ("quality=0.9", "quality=0.95", "quality=0.99", "budget=0.2", "budget=0.3", "budget=0.5")
PAIR_TARGETS = ("strong_share=0.2", "strong_share=0.5", "strong_share=0.8")


def targets_file(mode: str) -> str:
    """The targets file of a routing mode ("full" or "fast")."""
    return FAST_TARGETS_FILE if mode == "fast" else TARGETS_FILE


class Target(BaseModel):
    """A target in plain terms; exactly one field is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quality: float | None = Field(
        default=None, gt=0, le=1, description="Share of the strongest candidate's accuracy to keep, cheapest first."
    )
    budget: float | None = Field(
        default=None, gt=0, description="Most cost, as a share of the strongest candidate's cost; best accuracy first."
    )
    strong_share: float | None = Field(
        default=None, ge=0, le=1, description="Share of queries sent to the stronger model of a two-model zoo."
    )

    @model_validator(mode="after")
    def _one(self) -> "Target":
        given = [name for name in ("quality", "budget", "strong_share") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of quality, budget or strong_share (got {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        """Which field is set."""
        return next(name for name in ("quality", "budget", "strong_share") if getattr(self, name) is not None)

    @property
    def value(self) -> float:
        """The set field's value."""
        return float(getattr(self, self.kind))

    def __str__(self) -> str:
        return f"{self.kind}={self.value:g}"

    @classmethod
    def parse(cls, text: str) -> "Target":
        """`quality=0.95`, `budget=0.3` or `strong_share=0.5` (also `quality:0.95`).

        Raises:
            ConfigError: naming the text when it is not one of those.
        """
        name, sep, value = text.replace(":", "=").partition("=")
        try:
            if not sep:
                raise ValueError("expected NAME=VALUE")
            return cls.model_validate({name.strip().replace("-", "_"): float(value)})
        except ValueError as exc:
            raise ConfigError(
                f"target {text!r}: {exc}; write quality=0.95, budget=0.3 or strong_share=0.5".replace("\n", " ")
            ) from None


@dataclass(frozen=True)
class TargetChoice:
    """A target's λ and what routing at it did on the validation queries."""

    target: str
    promise: str
    lam: float
    expected_accuracy: float
    expected_cost: float
    strong_share: float
    reachable: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, λ = ∞ as the string "inf"."""
        return asdict(self) | {"lam": "inf" if math.isinf(self.lam) else self.lam}


@dataclass(frozen=True)
class TargetCurve:
    """Routed accuracy, mean cost and strong share per λ on a router's validation queries."""

    models: list[str]
    strongest: str
    strongest_accuracy: float
    strongest_cost: float
    n_queries: int
    lambdas: list[float]
    accuracy: list[float]
    cost: list[float]
    strong_share: list[float]

    def resolve(self, target: Target) -> TargetChoice:
        """The λ that meets `target` on the curve (the nearest it gets when none does).

        Raises:
            ConfigError: `strong_share` for a zoo that is not two models.
        """
        acc, cost, share = (np.asarray(v) for v in (self.accuracy, self.cost, self.strong_share))
        if target.kind == "quality":
            goal = target.value * self.strongest_accuracy
            meets = np.flatnonzero(acc >= goal - 1e-12)
            # the cheapest that meets the goal, then the most accurate, then the largest λ
            i = int(meets[np.lexsort((-np.arange(len(acc))[meets], -acc[meets], cost[meets]))[0]]) if meets.size else 0
            promise = f"accuracy ≥ {goal:.1%} ({target.value:.0%} of {self.strongest}'s {self.strongest_accuracy:.1%})"
        elif target.kind == "budget":
            cap = target.value * self.strongest_cost
            meets = np.flatnonzero(cost <= cap * (1 + 1e-12))
            i = int(meets[np.lexsort((cost[meets], -acc[meets]))[0]]) if meets.size else len(cost) - 1
            of = f"{target.value:.0%} of {self.strongest}'s {self.strongest_cost:.3g}"
            promise = f"cost ≤ {cap:.3g} USD per query ({of})"
        else:
            if len(self.models) != 2:
                raise ConfigError(
                    f"strong_share needs a zoo of one strong and one weak model; this calibration has "
                    f"{len(self.models)} ({', '.join(self.models)})"
                )
            gap = np.abs(share - target.value)
            i = int(np.lexsort((cost, gap))[0])
            meets = np.flatnonzero(gap <= 0.02)
            promise = f"{target.value:.0%} of the queries to {self.strongest}"
        return TargetChoice(
            str(target), promise, self.lambdas[i], float(acc[i]), float(cost[i]), float(share[i]), bool(meets.size)
        )

    def save(self, path: Path) -> None:
        """Write the curve as JSON (λ = ∞ as "inf")."""
        data = asdict(self) | {"lambdas": ["inf" if math.isinf(x) else x for x in self.lambdas]}
        Path(path).write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TargetCurve":
        """Read a curve written by `save`.

        Raises:
            DataError: naming the file when it is missing or not a targets file.
        """
        try:
            data = json.loads(Path(path).read_text())
            data["lambdas"] = [float(x) for x in data["lambdas"]]
            return cls(**data)
        except FileNotFoundError:
            raise DataError(
                f"{path}: no targets calibration; run `modelsat calibrate --targets` on the router first"
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(f"{path}: not a targets file ({exc})") from None


def fit_curve(
    utility: np.ndarray, cost: np.ndarray, y: np.ndarray, models: Sequence[str], steps_per_decade: int = 40
) -> TargetCurve:
    """The λ sweep of routing by `utility` − λ·`cost` on outcomes `y`, all (n_queries, n_models)."""
    utility, cost, y = (np.asarray(a, dtype=np.float64) for a in (utility, cost, y))
    if not (utility.shape == cost.shape == y.shape and utility.shape[1] == len(models)):
        shapes = f"utility {utility.shape}, cost {cost.shape}, y {y.shape}"
        raise ValueError(f"shapes differ: {shapes}, {len(models)} models")
    strongest = int(y.mean(axis=0).argmax())
    scale = 1.0 / max(float(cost.mean()), 1e-12)
    lambdas = [0.0, *(np.geomspace(1e-3, 1e3, 6 * steps_per_decade + 1) * scale).tolist(), math.inf]
    rows = np.arange(len(y))
    acc, spent, share = [], [], []
    for lam in lambdas:
        choice = decide(utility, cost, lam).choice
        acc.append(float(y[rows, choice].mean()))
        spent.append(float(cost[rows, choice].mean()))
        share.append(float((choice == strongest).mean()))
    return TargetCurve(
        models=list(models),
        strongest=models[strongest],
        strongest_accuracy=float(y[:, strongest].mean()),
        strongest_cost=float(cost[:, strongest].mean()),
        n_queries=len(y),
        lambdas=lambdas,
        accuracy=acc,
        cost=spent,
        strong_share=share,
    )
