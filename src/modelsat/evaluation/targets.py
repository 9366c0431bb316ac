"""Targets kept on the test split: route at the λ each target was calibrated to on validation
(`cost/targets.py`) and measure what the test queries get, beside what the target promised.

A `quality: q` target promises accuracy ≥ q × the strongest candidate's; a `budget: b` target cost ≤ b × the
strongest candidate's (mean USD per query); `strong_share: s` about s of the queries to the strong model. On
test, the promise is taken relative to the strongest candidate's *test* accuracy and cost, and the report
gives the gap: accuracy in points, cost as a ratio.

Example:
    section = targets_section(y, cost, {"model-sat": scores}, {"model-sat": curve}, models)
    section["model-sat"]["quality=0.95"]["accuracy"], section["model-sat"]["quality=0.95"]["promised_accuracy"]
"""

from collections.abc import Mapping, Sequence

import numpy as np

from modelsat.cost.policy import as_utility, decide
from modelsat.cost.targets import PAIR_TARGETS, STANDARD_TARGETS, Target, TargetCurve


def target_outcome(
    utility: np.ndarray, cost: np.ndarray, y: np.ndarray, models: Sequence[str], curve: TargetCurve, target: Target
) -> dict:
    """Routing at `target`'s calibrated λ on these queries: what it promised, expected and measured."""
    choice = curve.resolve(target)
    strongest = list(models).index(curve.strongest)
    rows = np.arange(len(y))
    picked = decide(utility, cost, choice.lam).choice
    accuracy, spent = float(y[rows, picked].mean()), float(cost[rows, picked].mean())
    item = choice.as_dict() | {
        "accuracy": accuracy,
        "cost": spent,
        "strong_share_measured": float((picked == strongest).mean()),
        "strongest_accuracy": float(y[:, strongest].mean()),
        "strongest_cost": float(cost[:, strongest].mean()),
    }
    if target.kind == "quality":
        promised = target.value * item["strongest_accuracy"]
        item |= {"promised_accuracy": promised, "accuracy_gap_points": 100 * (accuracy - promised)}
    elif target.kind == "budget":
        promised = target.value * item["strongest_cost"]
        item |= {"promised_cost": promised, "cost_ratio": spent / promised}
    return item


def targets_section(
    y: np.ndarray,
    cost: np.ndarray,
    scores: Mapping[str, np.ndarray],
    curves: Mapping[str, TargetCurve],
    models: Sequence[str],
) -> dict[str, dict[str, dict]]:
    """method → target → `target_outcome`, for every method with a curve calibrated on the same models."""
    section = {}
    for method, curve in curves.items():
        if method not in scores or set(curve.models) != set(models):
            continue
        names = STANDARD_TARGETS + (PAIR_TARGETS if len(models) == 2 else ())
        utility = as_utility(scores[method])
        section[method] = {name: target_outcome(utility, cost, y, models, curve, Target.parse(name)) for name in names}
    return section


def targets_markdown(section: Mapping[str, Mapping[str, dict]]) -> str:
    """One table per method: each target's λ, its promise and what the test queries got."""
    lines = []
    for method, targets in section.items():
        lines += [
            f"\nTargets of {method} (λ calibrated on validation; promises relative to the strongest model on test):\n",
            "| target | λ | promised accuracy (%) | accuracy (%) | gap (points) | promised cost (m$) | cost (m$) | "
            "cost / promise | expected on validation: accuracy (%), cost (m$) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, t in targets.items():
            lam = t["lam"] if isinstance(t["lam"], str) else f"{t['lam']:.4g}"
            cells = [
                name,
                lam,
                _cell(t.get("promised_accuracy"), 100, ".1f"),
                _cell(t["accuracy"], 100, ".1f"),
                _cell(t.get("accuracy_gap_points"), 1, "+.1f"),
                _cell(t.get("promised_cost"), 1000, ".3g"),
                _cell(t["cost"], 1000, ".3g"),
                _cell(t.get("cost_ratio"), 1, ".2f"),
                f"{100 * t['expected_accuracy']:.1f}, {1000 * t['expected_cost']:.3g}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float | None, scale: float, spec: str) -> str:
    return "–" if value is None else format(scale * value, spec)
