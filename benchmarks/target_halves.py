"""How well a target's promise transfers between two random halves of the validation queries, under three rules
for the figure it does not aim at (a quality target's cost, a budget's accuracy). Validation only: the test
split is not read.

Each repetition calibrates the targets (`cost/targets.py`) on one half of the router's validation queries and
routes the other half at them. The promise on the second half is, for the figure aimed at, the goal's share of the
strongest model's figure there (as `evaluate --cost --targets` states it); for the other figure, either
- `strongest`: its share of the strongest model's figure, as calibrated (what `evaluate` reports);
- `per-model`: each model's share of its own cost (or right answers) that the routing took, times that model's
  figure on the second half;
- `as-is`: the calibrated figure itself.
Prints each rule's root-mean-square gap (points) and ratio error, and how often both figures land within 1 point
and 10 %. Needs the validation scores cached by `aiq_paired.py --cache`.

Example:
    $ python benchmarks/target_halves.py --outcomes out/routerbench.parquet --router routers/routerbench \
        --cache out/aiq/routerbench-scores.npz --repeats 200
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from modelsat.cost.matrix import cost_matrix
from modelsat.cost.policy import as_utility, decide
from modelsat.cost.targets import STANDARD_TARGETS, Target, TargetChoice, TargetCurve, fit_curve
from modelsat.data.schema import read_outcomes
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.training.training_data import ScoreMatrix

RULES = ("strongest", "per-model", "as-is")


def taken_shares(choice: TargetChoice, utility, cost, y) -> tuple[np.ndarray, np.ndarray]:
    """Per model: the share of its cost and of its right answers that routing at the choice's mix takes."""
    spent, right = np.zeros(cost.shape[1]), np.zeros(cost.shape[1])
    for lam, weight in ((choice.lam, 1 - choice.share_alt), (choice.lam_alt, choice.share_alt)):
        onehot = np.eye(cost.shape[1])[decide(utility, cost, lam).choice]
        spent += weight * (cost * onehot).sum(0) / cost.sum(0)
        right += weight * (y * onehot).sum(0) / np.maximum(y.sum(0), 1e-12)
    return spent, right


def errors(curve: TargetCurve, target: Target, fit: tuple, held: tuple, texts: list[str], models: list[str]):
    """(accuracy gap in points, cost ratio) on the held-out half, per rule."""
    utility, cost, y = held
    choice = curve.resolve(target)
    alt = np.array([choice.lam_for(t) != choice.lam for t in texts])
    picked = np.where(alt, decide(utility, cost, choice.lam_alt).choice, decide(utility, cost, choice.lam).choice)
    rows = np.arange(len(y))
    accuracy, spent = y[rows, picked].mean(), cost[rows, picked].mean()
    strongest = models.index(curve.strongest)
    by_strongest = (
        choice.expected_accuracy / curve.strongest_accuracy * y[:, strongest].mean(),
        choice.expected_cost / curve.strongest_cost * cost[:, strongest].mean(),
    )
    cost_share, right_share = taken_shares(choice, *fit)
    other = {
        "strongest": by_strongest,
        "per-model": ((right_share * y.mean(0)).sum(), (cost_share * cost.mean(0)).sum()),
        "as-is": (choice.expected_accuracy, choice.expected_cost),
    }
    out = {}
    for rule, (acc_promise, cost_promise) in other.items():
        if target.kind == "quality":
            acc_promise = by_strongest[0]
        else:
            cost_promise = by_strongest[1]
        out[rule] = (100 * (accuracy - acc_promise), spent / cost_promise)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outcomes", type=Path, default=Path("out/routerbench.parquet"))
    parser.add_argument("--router", type=Path, default=Path("routers/routerbench"))
    parser.add_argument("--cache", type=Path, default=Path("out/aiq/routerbench-scores.npz"))
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    table = read_outcomes(args.outcomes)
    folder = RouterFolder.read(args.router)
    models = list(folder.meta["zoo"])
    validation = ScoreMatrix.from_outcomes(table, models, "validation", exclude=folder.aptitude.query_ids)
    with np.load(args.cache, allow_pickle=False) as cached:
        if not np.array_equal(cached["validation_ids"], validation.query_ids.astype(str)):
            raise SystemExit(f"{args.cache}: validation scores of other queries; run aiq_paired.py --cache first")
        utility = as_utility(cached["validation:model-sat"])
    queries = pd.DataFrame({"query_id": validation.query_ids, "prompt": validation.prompts})
    rows = table[table["query_id"].isin(set(validation.query_ids)) & table["model"].isin(models)]
    cost, y = cost_matrix(rows, queries, models), validation.scores
    rng = np.random.default_rng(args.seed)
    found: dict[str, dict[str, list]] = {name: {rule: [] for rule in RULES} for name in STANDARD_TARGETS}
    for _ in range(args.repeats):
        order = rng.permutation(len(y))
        fit, held = order[: len(y) // 2], order[len(y) // 2 :]
        curve = fit_curve(utility[fit], cost[fit], y[fit], models)
        parts = [(utility[i], cost[i], y[i]) for i in (fit, held)]
        texts = [validation.prompts[i] for i in held]
        for name in STANDARD_TARGETS:
            for rule, pair in errors(curve, Target.parse(name), *parts, texts, models).items():
                found[name][rule].append(pair)
    print(f"{args.repeats} random halves of {len(y)} validation queries: calibrate on one, route the other")
    head = ("target", "rule", "gap rms (points)", "mean", "ratio rms", "mean", "both in")
    print(f"{head[0]:<14} {head[1]:<10} {head[2]:>17} {head[3]:>6} {head[4]:>10} {head[5]:>6} {head[6]:>8}")
    for name, rules in found.items():
        for rule, pairs in rules.items():
            gap, ratio = np.array(pairs).T
            inside = np.mean((np.abs(gap) <= 1) & (np.abs(ratio - 1) <= 0.1))
            print(
                f"{name:<14} {rule:<10} {np.sqrt((gap**2).mean()):>17.2f} {gap.mean():>+6.2f} "
                f"{np.sqrt(((ratio - 1) ** 2).mean()):>10.3f} {ratio.mean():>6.3f} {inside:>8.0%}"
            )


if __name__ == "__main__":
    main()
