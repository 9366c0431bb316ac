"""RouterBench AIQ of Model-SAT against kNN and per-task on the same test queries, with paired-bootstrap intervals,
overall and per dataset (where the gap comes from).

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
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.frontier import cost_frontier
from modelsat.evaluation.run import load_model_sat, run_method

PEERS = ("knn", "per-task")


def aiqs(y: np.ndarray, cost: np.ndarray, scores: dict[str, np.ndarray], models: list[str]) -> dict[str, float]:
    """AIQ of each method (and the zero-router) over these queries' common cost range."""
    best = models[int(y.mean(axis=0).argmax())]
    cheap = models[int(cost.mean(axis=0).argmin())]
    frontier = cost_frontier(y, cost, scores, models, best, cheap if cheap != best else models[0], best)
    return {name: m["aiq"] for name, m in frontier["methods"].items()} | {"zero-router": frontier["zero_router"]["aiq"]}


def paired(y, cost, scores, models, draws: int, seed: int) -> dict[str, dict[str, float]]:
    """model-sat − peer AIQ: the point estimate and a 95 % paired-bootstrap interval, in points."""
    point = aiqs(y, cost, scores, models)
    rng = np.random.default_rng(seed)
    diffs: dict[str, list[float]] = {peer: [] for peer in PEERS}
    for _ in range(draws):
        idx = rng.integers(0, len(y), len(y))
        got = aiqs(y[idx], cost[idx], {n: s[idx] for n, s in scores.items()}, models)
        for peer in PEERS:
            diffs[peer].append(got["model-sat"] - got[peer])
    out = {"aiq": {name: 100 * v for name, v in point.items()}}
    for peer in PEERS:
        lo, hi = np.percentile(diffs[peer], [2.5, 97.5])
        out[f"model-sat - {peer}"] = {
            "difference": 100 * (point["model-sat"] - point[peer]),
            "ci95": [100 * lo, 100 * hi],
        }
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
    cost = cost_matrix(data.test_rows, data.queries, data.models)
    report = {"n_queries": len(data.y), "all": paired(data.y, cost, scores, data.models, args.draws, args.seed)}
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
