"""AIQ of Model-SAT against kNN and per-task on the same test queries, with paired-bootstrap intervals, and the
calibrations (one per model; task levels) compared on validation.

`model-sat-per-model` maps each model's log-odds through its own P(good) = sigmoid(a_m·s + b_m), fitted on the
validation queries (the router's single map cannot change which model ranks first; one map per model can, for
models with validation outcomes). Whether it routes better is decided on validation, not on test: its
validation AIQ is cross-fitted (maps fitted on one half of the validation queries, AIQ read on the other, both
ways round) and compared with the shipped map's. When the router's calibration has a level per aptitude task, the
single map and the task levels are compared the same way (`validation_aiq_calibration`: each fitted on half of the
validation queries, AIQ read on the other half, five random halvings). With `--targets`, it also routes the test
queries at each target calibrated in the router's targets.json (`modelsat calibrate --targets`), as `modelsat
evaluate --cost --targets` does, and prints that table; the JSON adds each figure's 95 % bootstrap interval over the
test queries, and over the validation queries too (`*_with_validation`: the targets calibrated again on each draw of
them).

The test queries, baselines and costs are `modelsat evaluate`'s (aptitude questions excluded, the outcomes'
recorded costs or `--prices`, `--limit` the same seeded sample); each bootstrap draw resamples the test queries
once for every method, recomputes every frontier on that draw (its own cost range) and takes the differences of
AIQ, so the interval is of the paired difference. With `--by-task`, AIQ per dataset too (where the gap comes from),
and Model-SAT's mean P(Yes) beside the accuracy on each dataset (how well its level transfers across datasets).

Model-SAT routes in the router's default mode unless `--mode` says otherwise. Scoring is the slow part in full
mode (the router's LLM reads every query): `--cache FILE` keeps the score matrices and reuses
them while the test and validation queries are the same.

Example:
    $ python benchmarks/aiq_paired.py --outcomes out/routerbench.parquet --router routers/routerbench --targets \
        --by-task --cache out/aiq/routerbench-scores.npz -o out/aiq/routerbench.json
    $ python benchmarks/aiq_paired.py --outcomes out/all.parquet --zoo mixed --router routers/default \
        --prices configs/prices/mixed.yaml --limit 800 --validation-limit 600 --cache out/aiq/mixed-scores.npz
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from modelsat.baselines.registry import BASELINES
from modelsat.cost.matrix import cost_matrix
from modelsat.cost.policy import as_utility
from modelsat.cost.prices import load_prices
from modelsat.cost.targets import TARGETS_FILE, TargetCurve
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.frontier import cost_frontier, validation_aiq
from modelsat.evaluation.run import load_model_sat, run_method
from modelsat.evaluation.targets import target_intervals, targets_markdown, targets_section
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.modes import default_mode
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


def apply_maps(log_odds: np.ndarray, maps: list[tuple[float, float]]) -> np.ndarray:
    """Each model's column through its own map (still log-odds)."""
    return np.column_stack([a * log_odds[:, j] + b for j, (a, b) in enumerate(maps)])


def cross_fitted_aiq(log_odds: np.ndarray, y: np.ndarray, cost: np.ndarray, seed: int) -> float:
    """Validation AIQ of per-model maps, each half of the queries scored by maps fitted on the other half."""
    half = np.random.default_rng(seed).permutation(len(y)) < len(y) // 2
    mapped = np.empty_like(log_odds, dtype=np.float64)
    for held in (half, ~half):
        mapped[held] = apply_maps(log_odds[held], per_model_maps(log_odds[~held], y[~held]))
    return validation_aiq(mapped, cost, y)


def calibration_choice(service, val_log_odds: np.ndarray, prompts: list[str], y, cost, splits: int = 5) -> dict:
    """Cross-fitted validation AIQ of the single map and of task levels, from the router's own raw validation
    log-odds (its calibration undone) and each query's nearest aptitude task."""
    from modelsat.router.routing.calibration import fit_calibration

    calibration = service.calibration
    tasks = service.nearest_tasks(service.scorer.embed_texts(service.reader.texts(prompts)))
    level = np.array([calibration.task_bias.get(t, 0.0) for t in tasks])[:, None]
    raw = (val_log_odds - calibration.bias - level) / calibration.scale
    out = {}
    for name, levels in (("single map", False), ("task levels", True)):
        values = []
        for split in range(splits):
            half = np.random.default_rng(split).permutation(len(y)) < len(y) // 2
            mapped = np.empty_like(raw)
            for held in (half, ~half):
                seen = [t for t, h in zip(tasks, held, strict=True) if not h]
                fitted = fit_calibration(raw[~held], y[~held], seen, levels=levels)
                mapped[held] = fitted.apply(raw[held], [t for t, h in zip(tasks, held, strict=True) if h])
            values.append(validation_aiq(mapped, cost, y))
        out[name] = 100 * float(np.mean(values))
    return out


def paired(y, cost, scores, models, draws: int, seed: int) -> dict[str, dict[str, float]]:
    """Each Model-SAT variant's AIQ minus each peer's: the point estimate and a 95 % paired-bootstrap interval."""
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


def score_all(args, table: pd.DataFrame, models: list[str]):
    """The eval set, the test scores of Model-SAT and the peers, Model-SAT's validation log-odds (cached), and the
    loaded router."""
    mode = args.mode or default_mode(read_router_config(args.router)[0].router)
    loaded, aptitude = load_model_sat(args.router, args.cards, [mode])
    routers = {"model-sat": next(iter(loaded.values()))}
    data = build_eval_set(table, models, aptitude, args.limit, args.seed)
    validation = ScoreMatrix.from_outcomes(table, data.models, "validation", exclude=aptitude)
    if args.validation_limit is not None:
        validation = validation.subset(args.validation_limit, seed=0)
    ids = {
        "test_ids": data.queries["query_id"].to_numpy(dtype=str),
        "validation_ids": validation.query_ids.astype(str),
        "router": np.array([f"{args.router.resolve()} {mode} {args.cards}"]),
    }
    cached: dict[str, np.ndarray] = {}
    if args.cache and args.cache.exists():
        with np.load(args.cache, allow_pickle=False) as stored:
            if all(k in stored and np.array_equal(stored[k], v) for k, v in ids.items()):
                cached = {k: stored[k] for k in stored.files if k not in ids}
    methods = dict(routers) | {
        name: BASELINES.create(name, seed=args.seed, outcomes=data.test_rows, aptitude=data.aptitude_rows)
        for name in PEERS
    }
    for name, router in methods.items():
        if f"test:{name}" not in cached:
            cached[f"test:{name}"] = run_method(name, router, data, 0, lambda *_: None).scores
    if "validation:model-sat" not in cached:
        log_odds = routers["model-sat"].score_instructions(validation.prompts, data.models)
        cached["validation:model-sat"] = np.asarray(log_odds, np.float64)
    if args.cache:
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.cache, **ids, **cached)
    scores = {name: cached[f"test:{name}"] for name in methods}
    return data, validation, scores, cached["validation:model-sat"], routers["model-sat"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outcomes", type=Path, default=Path("out/routerbench.parquet"))
    parser.add_argument("--zoo", default="all")
    parser.add_argument("--router", type=Path, default=Path("routers/routerbench"))
    parser.add_argument("--cards", type=Path, default=None, help="Cards for the zoo (default: the router's).")
    parser.add_argument("--mode", choices=("full", "fast"), default=None, help="Default: the router's own.")
    parser.add_argument("--prices", type=Path, default=None, help="Prices YAML (default: the outcomes' costs).")
    parser.add_argument("--limit", type=int, default=None, help="A seeded sample of the test queries, as evaluate's.")
    parser.add_argument("--validation-limit", type=int, default=None, help="As `calibrate --limit`.")
    parser.add_argument("--targets", action="store_true", help="Also route at the router's calibrated targets.")
    parser.add_argument("--by-task", action="store_true", help="Also AIQ per dataset.")
    parser.add_argument("--cache", type=Path, default=None, help="Keep / reuse the score matrices (.npz).")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, default=None, help="Also write the figures as JSON.")
    args = parser.parse_args()

    table = read_outcomes(args.outcomes)
    models = resolve_zoo(table["model"].unique(), zoo=args.zoo)
    prices = load_prices(args.prices) if args.prices else None
    data, validation, scores, val_log_odds, service = score_all(args, table, models)
    cost = cost_matrix(data.test_rows, data.queries, data.models, prices)
    val_queries = pd.DataFrame({"query_id": validation.query_ids, "prompt": validation.prompts})
    val_rows = table[table["query_id"].isin(set(validation.query_ids)) & table["model"].isin(data.models)]
    val_cost = cost_matrix(val_rows, val_queries, data.models, prices)
    report: dict = {"n_queries": len(data.y), "n_validation": len(validation.scores)}
    report["validation_aiq"] = {
        "model-sat": 100 * validation_aiq(val_log_odds, val_cost, validation.scores),
        PER_MODEL + " (cross-fitted)": 100 * cross_fitted_aiq(val_log_odds, validation.scores, val_cost, args.seed),
    }
    if service.calibration is not None and service.calibration.task_bias:
        report["validation_aiq_calibration"] = calibration_choice(
            service, val_log_odds, list(validation.prompts), validation.scores, val_cost
        )
    maps = per_model_maps(val_log_odds, validation.scores)
    report["per_model_maps"] = dict(zip(data.models, maps, strict=True))
    scores[PER_MODEL] = apply_maps(scores["model-sat"], maps)
    if args.targets:
        curve = TargetCurve.load(args.router / TARGETS_FILE)
        texts = data.queries["prompt"].tolist()
        report["targets"] = targets_section(data.y, cost, scores, {"model-sat": curve}, data.models, texts)
        print(targets_markdown(report["targets"]))
        intervals = target_intervals(
            data.y, cost, scores["model-sat"], curve, data.models, texts, args.draws, args.seed
        )
        validation_draws = target_intervals(  # the calibration is a random draw of queries too
            data.y,
            cost,
            scores["model-sat"],
            curve,
            data.models,
            texts,
            args.draws,
            args.seed,
            (as_utility(val_log_odds), val_cost, validation.scores),
        )
        for name, bounds in intervals.items():
            report["targets"]["model-sat"][name] |= bounds | {
                f"{key}_with_validation": value for key, value in validation_draws[name].items()
            }
    report["all"] = paired(data.y, cost, scores, data.models, args.draws, args.seed)
    tasks = data.queries["task"].to_numpy()
    for task in sorted(set(tasks)) if args.by_task else []:
        keep = tasks == task
        sub = {n: s[keep] for n, s in scores.items()}
        p_yes = 1 / (1 + np.exp(-scores["model-sat"][keep]))
        strongest = int(data.y.mean(axis=0).argmax())
        levels = {  # how well Model-SAT's P(Yes) matches the accuracy on this dataset, all models and the strongest
            "mean_p_yes": float(p_yes.mean()),
            "accuracy": float(data.y[keep].mean()),
            "strongest_p_yes": float(p_yes[:, strongest].mean()),
            "strongest_accuracy": float(data.y[keep, strongest].mean()),
        }
        report[task] = (
            {"n_queries": int(keep.sum())}
            | levels
            | paired(data.y[keep], cost[keep], sub, data.models, args.draws, args.seed)
        )
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
