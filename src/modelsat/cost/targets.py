"""Quality–cost targets in plain terms, calibrated into the decision rule's λ on a router's validation outcomes.

- `quality: 0.95`: the cheapest routing whose accuracy is at least 95 % of the strongest candidate's.
- `budget: 0.3`: the most accurate routing that costs at most 30 % of the strongest candidate's cost.
- `strong_share: 0.5`: for a zoo of one strong and one weak model, send about half of the queries to the strong one.

The strongest candidate is the model with the highest validation accuracy. Calibration sweeps λ of
`argmax P(Yes) − λ·cost` (`cost/policy.py`) over a fine grid on the validation queries and keeps, per λ,
the routed accuracy, mean cost and share sent to the strongest model: the `TargetCurve`, stored with the
router (`targets.json`, `targets-fast.json` for fast mode).

One λ routes a finite set of queries to a step of a staircase, so a target met by one λ lands on the step at
or past its goal. A quality or budget target therefore reads two λ off the curve's upper convex hull (the NDCH
of the frontier, `evaluation/frontier.py`): the two hull vertices around the goal, each request routed at one
of them, the second with probability `share_alt`, so that on the validation queries the expected accuracy
(quality) or cost (budget) is the goal itself. Which λ a request gets is drawn from a hash of its text
(`TargetChoice.lam_for`), so the same request always routes the same way. A `strong_share` target keeps one
λ, the one whose strong share is nearest. The expected accuracy and cost are what the target promises; on
other queries it promises the same shares of the strongest candidate's accuracy and cost, except a quality target's
cost, promised as calibrated in USD per query (`evaluation/targets.py`).

Example:
    curve = fit_curve(p_yes, cost, y, models)        # validation (n_queries, n_models) arrays
    curve.save(router / targets_file("full"))
    choice = curve.resolve(Target(quality=0.95))
    choice.lam_for("Solve 3x + 7 = 22."), choice.expected_accuracy, choice.expected_cost
"""

import functools
import hashlib
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
    """A target's λ and what routing at it did on the validation queries: a share `share_alt` of the requests
    is routed at `lam_alt` instead of `lam` (0 when one λ meets the target), and the expectations are the mix's."""

    target: str
    promise: str
    lam: float
    expected_accuracy: float
    expected_cost: float
    strong_share: float
    reachable: bool
    lam_alt: float
    share_alt: float

    def lam_for(self, text: str) -> float:
        """The λ a request with this text is routed at: `lam_alt` for a hash-drawn `share_alt` of the texts."""
        if self.share_alt <= 0:
            return self.lam
        draw = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64
        return self.lam_alt if draw < self.share_alt else self.lam

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, λ = ∞ as the string "inf"."""
        inf = {name: "inf" for name in ("lam", "lam_alt") if math.isinf(getattr(self, name))}
        return asdict(self) | inf


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
        """The λ (or mix of two) that meets `target` on the curve (the nearest it gets when none does).

        Raises:
            ConfigError: `strong_share` for a zoo that is not two models.
        """
        acc, cost, share = (np.asarray(v) for v in (self.accuracy, self.cost, self.strong_share))
        if target.kind == "strong_share":
            if len(self.models) != 2:
                raise ConfigError(
                    f"strong_share needs a zoo of one strong and one weak model; this calibration has "
                    f"{len(self.models)} ({', '.join(self.models)})"
                )
            gap = np.abs(share - target.value)
            i = int(np.lexsort((cost, gap))[0])
            promise = f"{target.value:.0%} of the queries to {self.strongest}"
            return TargetChoice(
                str(target),
                promise,
                self.lambdas[i],
                float(acc[i]),
                float(cost[i]),
                float(share[i]),
                bool(gap[i] <= 0.02),
                self.lambdas[i],
                0.0,
            )
        hull = self.hull
        if target.kind == "quality":
            goal = target.value * self.strongest_accuracy
            position, reachable = _position(acc[hull], goal), bool(goal <= acc[hull[-1]] + 1e-12)
            promise = f"accuracy ≥ {goal:.1%} ({target.value:.0%} of {self.strongest}'s {self.strongest_accuracy:.1%})"
        else:
            goal = target.value * self.strongest_cost
            position, reachable = _position(cost[hull], goal), bool(goal >= cost[hull[0]] * (1 - 1e-12))
            of = f"{target.value:.0%} of {self.strongest}'s {self.strongest_cost:.3g}"
            promise = f"cost ≤ {goal:.3g} USD per query ({of})"
        k = min(int(position), len(hull) - 2) if len(hull) > 1 else 0
        upper = position - k  # weight of the dearer vertex hull[k + 1]
        lo, hi = hull[k], hull[min(k + 1, len(hull) - 1)]
        main, alt, share_alt = (hi, lo, 1 - upper) if upper > 0.5 else (lo, hi, upper)
        if share_alt <= 0:
            alt, share_alt = main, 0.0
        mix = (1 - share_alt) * np.array([acc[main], cost[main], share[main]])
        mix += share_alt * np.array([acc[alt], cost[alt], share[alt]])
        return TargetChoice(
            str(target),
            promise,
            self.lambdas[main],
            float(mix[0]),
            float(mix[1]),
            float(mix[2]),
            reachable,
            self.lambdas[alt],
            float(share_alt),
        )

    @functools.cached_property
    def hull(self) -> list[int]:
        """Indices of the curve's points on its upper convex hull, cheapest first, up to the most accurate point;
        of several λ routing the validation queries alike, the middle one (computed once per curve: the proxy
        resolves a target per request)."""
        scale = max(max(self.cost), 1e-300)  # costs in units of the dearest point, for the collinearity tolerance
        points: dict[tuple[float, float], list[int]] = {}
        for i, key in enumerate(zip(self.cost, self.accuracy, strict=True)):
            points.setdefault(key, []).append(i)
        hull: list[tuple[float, float]] = []
        for c, a in sorted(points, key=lambda p: (p[0], -p[1])):
            if hull and (c == hull[-1][0] or a <= hull[-1][1]):
                continue  # as dear and no better, or dearer and no better: never on the non-decreasing hull
            while len(hull) >= 2 and _under(hull[-2], hull[-1], (c, a), scale):
                hull.pop()
            hull.append((c, a))
        return [points[p][len(points[p]) // 2] for p in hull]

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


def _position(values: np.ndarray, goal: float) -> float:
    """Where `goal` sits along increasing `values`, as a fractional index clipped to the ends."""
    if goal <= values[0]:
        return 0.0
    if goal >= values[-1]:
        return float(len(values) - 1)
    k = int(np.searchsorted(values, goal, side="left")) - 1
    return k + float((goal - values[k]) / (values[k + 1] - values[k]))


def _under(left: tuple[float, float], mid: tuple[float, float], right: tuple[float, float], scale: float) -> bool:
    """Whether (cost, accuracy) point `mid` lies strictly under the chord from `left` to `right` (a point on it
    stays: mixing the nearer routings changes fewer decisions)."""
    (x0, y0), (x1, y1), (x2, y2) = left, mid, right
    return ((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)) / scale > 1e-12
