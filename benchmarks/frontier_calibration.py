"""Does choosing the P(Yes) map for the frontier help? Test AIQ of Model-SAT under the Platt map and
under the maps P = sigmoid(a · log-odds + b) with the best *validation* AIQ.

Scores the router's validation and test queries once (raw log-odds), fits the Platt map on
validation (as `modelsat calibrate`), then sweeps a grid of (a, b): for each map it computes the
AIQ on validation and on test, and prints the best `--top` maps by validation AIQ next to Platt's.

    .venv/bin/python benchmarks/frontier_calibration.py [--router routers/routerbench] \
        [--outcomes out/routerbench.parquet] [--top 10]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.cost.matrix import cost_matrix
from modelsat.data.schema import read_outcomes
from modelsat.data.splits import split_outcomes
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.frontier import cost_frontier
from modelsat.router.routing.calibration import fit_calibration
from modelsat.router.routing.service import load_router
from modelsat.router.training.training_data import ScoreMatrix

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)
BIASES = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)


def model_sat_aiq(log_odds: np.ndarray, y: np.ndarray, cost: np.ndarray, models: list[str]) -> float:
    """AIQ (%) of routing by `log_odds` over the report's λ grid."""
    best = models[int(y.mean(axis=0).argmax())]
    cheapest = models[int(cost.mean(axis=0).argmin())]
    frontier = cost_frontier(y, cost, {"model-sat": log_odds}, models, best, cheapest, best)
    return 100 * frontier["methods"]["model-sat"]["aiq"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, default=Path("routers/routerbench"))
    parser.add_argument("--outcomes", type=Path, default=Path("out/routerbench.parquet"))
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    table = read_outcomes(args.outcomes)
    models = sorted(table["model"].unique())
    exclude = AptitudeSet.load(args.router / "aptitude.json").query_ids
    service = load_router(args.router, calibrated=False, mode="full")
    val = ScoreMatrix.from_outcomes(table, models, "validation", exclude=exclude)
    val_rows = split_outcomes(table[table["query_id"].isin(set(val.query_ids))], "validation")
    val_cost = cost_matrix(val_rows, pd.DataFrame({"query_id": list(val.query_ids)}), models)
    test = build_eval_set(table, models, exclude)
    test_prompts = test.queries["prompt"].astype(str).tolist()
    splits = {
        "validation": (service.score_instructions(val.prompts, models), val.scores, val_cost),
        "test": (
            service.score_instructions(test_prompts, models),
            test.y,
            cost_matrix(test.test_rows, test.queries, models),
        ),
    }
    platt = fit_calibration(splits["validation"][0], splits["validation"][1])

    def both(scale: float, bias: float) -> dict:
        aiqs = {s: model_sat_aiq(scale * raw + bias, y, c, models) for s, (raw, y, c) in splits.items()}
        return {"a": round(scale, 4), "b": round(bias, 4), **{k: round(v, 3) for k, v in aiqs.items()}}

    grid = sorted((both(a, b) for a in SCALES for b in BIASES), key=lambda r: -r["validation"])
    result = {"platt": both(platt.scale, platt.bias), "best_by_validation_aiq": grid[: args.top]}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
