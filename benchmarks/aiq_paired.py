"""RouterBench AIQ of Model-SAT against kNN and per-task on the same test queries, with paired-bootstrap intervals,
overall and per dataset (where the gap comes from), and with one calibration per model.

`model-sat-per-model` maps each model's log-odds through its own P(good) = sigmoid(a_m·s + b_m), fitted on the
validation queries (the router's single map cannot change which model ranks first; one map per model can, for
models with validation outcomes). It also routes the test queries at each target calibrated in the router's
targets.json (`modelsat calibrate --targets`), as `modelsat evaluate --cost --targets` does, and prints that table.

The test queries, baselines and costs are `modelsat evaluate`'s (aptitude questions excluded, the outcomes'
recorded costs); each bootstrap draw resamples the test queries once for every method, recomputes every
frontier on that draw (its own cost range) and takes the differences of AIQ, so the interval is of the paired
difference. Per dataset, AIQ is computed on that dataset's queries alone.

Example:
    $ .venv/bin/python benchmarks/aiq_paired.py --outcomes out/routerbench.parquet --router routers/routerbench
"""

import argparse
import json
from pathlib import Path

import numpy as np

from modelsat.baselines.registry import BASELINES
from modelsat.cost.matrix import cost_matrix
from modelsat.cost.targets import TARGETS_FILE, TargetCurve
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.frontier import cost_frontier
from modelsat.evaluation.run import load_model_sat, run_method
from modelsat.evaluation.targets import targets_markdown, targets_section
from modelsat.router.training.training_data import ScoreMatrix

PEERS = ("knn", "per-task")
PER_MODEL = "model-sat-per-model"


def aiqs(y: np.ndarray, cost: np.ndarray, scores: dict[str, np.ndarray], models: list[str]) -> dict[str, float]:
    """AIQ of each method (and the zero-router) over these queries' common cost range."""
    best = models[int(y.mean(axis=0).argmax())]
    cheap = models[int(cost.mean(axis=0).argmin())]
    frontier = cost_frontier(y, cost, scores, models, best, cheap if cheap != best else models[0], best)
    return {name: m["aiq"] for name, m in frontier["methods"].items()} | {"zero-router": frontier["zero_router"]["aiq"]}


def per_model_maps(log_odds: np.ndarray, outcomes: np.ndarray) -> list[tuple[float, float]]:
    """(a_m, b_m) per model: a logistic fit of its outcomes (right = score > 0) on its log-odds."""
    from sklearn.linear_model import LogisticRegression

    maps = []
    for j in range(log_odds.shape[1]):
        fit = LogisticRegression(C=1e4).fit(log_odds[:, j : j + 1], outcomes[:, j] > 0)
        maps.append((float(fit.coef_[0, 0]), float(fit.intercept_[0])))
    return maps


def paired(y, cost, scores, models, draws: int, seed: int) -> dict[str, dict[str, float]]:
    """Model-SAT's AIQ minus each peer's: the point estimate and a 95 % paired-bootstrap interval, in points."""
    point = aiqs(y, cost, scores, models)
    rng = np.random.default_rng(seed)
    pairs = [("model-sat", p) for p in PEERS] + [(PER_MODEL, p) for p in (*PEERS, "model-sat")]
    diffs: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for _ in range(draws):
        idx = rng.integers(0, len(y), len(y))
        got = aiqs(y[idx], cost[idx], {n: s[idx] for n, s in scores.items()}, models)
        for ours, peer in pairs:
            diffs[ours, peer].append(got[ours] - got[peer])
    out = {"aiq": {name: 100 * v for name, v in point.items()}}
    for (ours, peer), values in diffs.items():
        lo, hi = np.percentile(values, [2.5, 97.5])
        out[f"{ours} - {peer}"] = {"difference": 100 * (point[ours] - point[peer]), "ci95": [100 * lo, 100 * hi]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outcomes", type=Path, default=Path("out/routerbench.parquet"))
    parser.add_argument("--router", type=Path, default=Path("routers/routerbench"))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, default=None, help="Also write the figures as JSON.")
    args = parser.parse_args()

    table = read_outcomes(args.outcomes)
    models = resolve_zoo(table["model"].unique(), zoo="all")
    routers, aptitude = load_model_sat(args.router, None, ["full"])
    data = build_eval_set(table, models, aptitude, None, args.seed)
    methods = dict(routers)
    methods |= {
        name: BASELINES.create(name, seed=args.seed, outcomes=data.test_rows, aptitude=data.aptitude_rows)
        for name in PEERS
    }
    scores = {name: run_method(name, r, data, 0, lambda *_: None).scores for name, r in methods.items()}
    validation = ScoreMatrix.from_outcomes(table, data.models, "validation", exclude=aptitude)
    maps = per_model_maps(routers["model-sat"].score_instructions(validation.prompts, data.models), validation.scores)
    scores[PER_MODEL] = np.column_stack([a * scores["model-sat"][:, j] + b for j, (a, b) in enumerate(maps)])
    cost = cost_matrix(data.test_rows, data.queries, data.models)
    curve = TargetCurve.load(args.router / TARGETS_FILE)
    targets = targets_section(data.y, cost, scores, {"model-sat": curve}, data.models)
    print(targets_markdown(targets))
    report = {"n_queries": len(data.y), "targets": targets}
    report["all"] = paired(data.y, cost, scores, data.models, args.draws, args.seed)
    tasks = data.queries["task"].to_numpy()
    for task in sorted(set(tasks)):
        keep = tasks == task
        sub = {n: s[keep] for n, s in scores.items()}
        report[task] = {"n_queries": int(keep.sum())} | paired(
            data.y[keep], cost[keep], sub, data.models, args.draws, args.seed
        )
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
