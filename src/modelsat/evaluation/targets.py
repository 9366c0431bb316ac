"""Targets kept on the test split: route at the λ each target was calibrated to on validation
(`cost/targets.py`) and measure what the test queries get, beside what the target promised.

A `quality: q` target promises accuracy ≥ q × the strongest candidate's; a `budget: b` target cost ≤ b × the
strongest candidate's (mean USD per query); `strong_share: s` about s of the queries to the strong model. The
calibration states each target's expected accuracy and cost on validation; on test, the promise is the same
shares of the strongest candidate's *test* accuracy and cost (for `quality: q`, q × its accuracy; for
`budget: b`, b × its cost; a budget's expected accuracy the same way), except a quality target's cost, promised as
calibrated in USD per query (it transfers better: the cost of a routing that mostly avoids the strongest model
does not follow the strongest model's), and the report gives the gap: accuracy in points, cost as a ratio. Each
query is routed at the λ its text draws (`TargetChoice.lam_for`), as the proxy routes it. `target_intervals` gives
the bootstrap intervals of those figures, over the test queries alone or over the validation queries too (the
calibration done again on each draw).

Example:
    section = targets_section(y, cost, {"model-sat": scores}, {"model-sat": curve}, models, texts)
    section["model-sat"]["quality=0.95"]["accuracy"], section["model-sat"]["quality=0.95"]["promised_accuracy"]
"""

from collections.abc import Mapping, Sequence

import numpy as np

from modelsat.cost.policy import as_utility, decide
from modelsat.cost.targets import PAIR_TARGETS, STANDARD_TARGETS, Target, TargetCurve, fit_curve


def target_outcome(
    utility: np.ndarray,
    cost: np.ndarray,
    y: np.ndarray,
    models: Sequence[str],
    curve: TargetCurve,
    target: Target,
    texts: Sequence[str],
) -> dict:
    """Routing the queries (`texts`, one per row) at `target`'s calibrated λ: what it promised, expected and got."""
    choice = curve.resolve(target)
    strongest = list(models).index(curve.strongest)
    rows = np.arange(len(y))
    alt = np.array([choice.lam_for(text) != choice.lam for text in texts], dtype=bool)
    picked = np.where(alt, decide(utility, cost, choice.lam_alt).choice, decide(utility, cost, choice.lam).choice)
    accuracy, spent = float(y[rows, picked].mean()), float(cost[rows, picked].mean())
    item = choice.as_dict() | {
        "accuracy": accuracy,
        "cost": spent,
        "share_alt_measured": float(alt.mean()),
        "strong_share_measured": float((picked == strongest).mean()),
        "strongest_accuracy": float(y[:, strongest].mean()),
        "strongest_cost": float(cost[:, strongest].mean()),
    }
    if target.kind in ("quality", "budget"):
        promised = choice.expected_accuracy / curve.strongest_accuracy * item["strongest_accuracy"]
        promised_cost = choice.expected_cost  # a quality target's cost as calibrated (benchmarks/target_halves.py)
        if target.kind == "budget":
            promised_cost *= item["strongest_cost"] / curve.strongest_cost
        item |= {
            "promised_accuracy": promised,
            "accuracy_gap_points": 100 * (accuracy - promised),
            "promised_cost": promised_cost,
            "cost_ratio": spent / promised_cost,
        }
    return item


def targets_section(
    y: np.ndarray,
    cost: np.ndarray,
    scores: Mapping[str, np.ndarray],
    curves: Mapping[str, TargetCurve],
    models: Sequence[str],
    texts: Sequence[str],
) -> dict[str, dict[str, dict]]:
    """method → target → `target_outcome`, for every method with a curve calibrated on the same models; `texts`
    are the queries' prompts (one per row), which draw each query's λ."""
    section = {}
    for method, curve in curves.items():
        if method not in scores or set(curve.models) != set(models):
            continue
        names = STANDARD_TARGETS + (PAIR_TARGETS if len(models) == 2 else ())
        utility = as_utility(scores[method])
        section[method] = {
            name: target_outcome(utility, cost, y, models, curve, Target.parse(name), texts) for name in names
        }
    return section


def target_intervals(
    y: np.ndarray,
    cost: np.ndarray,
    scores: np.ndarray,
    curve: TargetCurve,
    models: Sequence[str],
    texts: Sequence[str],
    draws: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, dict[str, list]]:
    """95 % bootstrap intervals over the test queries of each target's accuracy gap (points) and cost ratio. With
    `validation` (its utility, cost and outcomes), each draw also resamples the validation queries and calibrates
    the targets again on them: the interval of the figures when both splits are a random draw."""
    rng = np.random.default_rng(seed)
    texts = np.asarray(texts, dtype=object)
    gaps: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    for _ in range(draws):
        idx = rng.integers(0, len(y), len(y))
        if validation is not None:
            draw = rng.integers(0, len(validation[2]), len(validation[2]))
            curve = fit_curve(*(a[draw] for a in validation), models)
        section = targets_section(y[idx], cost[idx], {"router": scores[idx]}, {"router": curve}, models, texts[idx])
        for name, item in section["router"].items():
            if "cost_ratio" in item:
                gaps.setdefault(name, []).append(item["accuracy_gap_points"])
                ratios.setdefault(name, []).append(item["cost_ratio"])
    return {
        name: {
            "accuracy_gap_points_ci95": np.percentile(gaps[name], [2.5, 97.5]).tolist(),
            "cost_ratio_ci95": np.percentile(ratios[name], [2.5, 97.5]).tolist(),
        }
        for name in gaps
    }


def targets_markdown(section: Mapping[str, Mapping[str, dict]]) -> str:
    """One table per method: each target's λ, its promise and what the test queries got."""
    lines = []
    for method, targets in section.items():
        lines += [
            f"\nTargets of {method} (λ calibrated on validation; promises relative to the strongest model on test, "
            "a quality target's cost as calibrated):\n",
            "| target | λ (share at the second λ) | promised accuracy (%) | accuracy (%) | gap (points) | "
            "promised cost (m$) | cost (m$) | cost / promise | expected on validation: accuracy (%), cost (m$) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name, t in targets.items():
            lam = _lam(t["lam"]) + (f", {_lam(t['lam_alt'])} ({t['share_alt']:.0%})" if t["share_alt"] > 0 else "")
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


def _lam(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.4g}"
