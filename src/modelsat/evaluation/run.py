"""Run every routing method on one evaluation set and assemble `report.json` (DESIGN §6). Never trains Model-SAT.

Baselines are fitted on the zoo's train rows; Model-SAT, when given, is a ready `Router` (see
`load_model_sat`). Each method scores all test queries in one batch; latency percentiles come from
scoring `n_timing` single queries one at a time.

Example:
    report = evaluate(outcomes, EvalOptions(models=list(SMALL_5), baselines=["best-single", "oracle", "random"]))
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelsat.baselines.registry import BASELINES
from modelsat.cost.matrix import cost_matrix
from modelsat.evaluation.candidates import candidates_curve
from modelsat.evaluation.dataset import EvalSet, build_eval_set
from modelsat.evaluation.frontier import cost_frontier
from modelsat.evaluation.metrics import (
    choices,
    method_metrics,
    new_model_metrics,
    paired_difference,
    routed_scores,
    task_weights,
)
from modelsat.evaluation.new_models import new_models_section
from modelsat.evaluation.options import EvalOptions
from modelsat.evaluation.report import TASK_AVERAGED, build_report
from modelsat.evaluation.targets import targets_section
from modelsat.types import Router, TrainableRouter

REQUIRED_METHODS = ("best-single", "oracle", "random")
VS_SECTIONS = {"model-sat": "model_sat_vs", "model-sat-fast": "model_sat_fast_vs"}  # method -> its paired differences
Progress = Callable[[str, str], None]  # (method, stage): "fit", "score i/n", "time", "done"
CHUNK = 256  # queries per score() call, so slow routers report progress


@dataclass
class MethodRun:
    """One method's scores on the test queries and its timings."""

    scores: np.ndarray
    timing: dict[str, float]


def load_model_sat(
    router_dir: Path, cards: Path | None = None, modes: Sequence[str] = ("full", "fast")
) -> tuple[dict[str, Router], frozenset[str]]:
    """The trained Model-SAT router in each routing mode of `modes` (with `cards`, default its own cards.json), and
    its aptitude question ids. Full mode is the method `model-sat`, fast mode `model-sat-fast`. Asked for both, a
    router scored by its LLM alone (no fast mode) gives full only."""
    from modelsat.router.routing.folder import RouterFolder
    from modelsat.router.routing.modes import has_fast_terms
    from modelsat.router.routing.service import METHOD_NAMES, load_router

    folder = RouterFolder.read(router_dir)
    if len(modes) > 1 and not has_fast_terms(folder.config.router):
        modes = [m for m in modes if m != "fast"]
    first = load_router(folder, cards, mode=modes[0])
    routers = {METHOD_NAMES[modes[0]]: first} | {METHOD_NAMES[m]: first.with_mode(m) for m in modes[1:]}
    return routers, folder.aptitude.query_ids


def method_names(requested: Sequence[str]) -> list[str]:
    """Requested baselines (validated) plus the required ones, in registry order."""
    wanted = {BASELINES.check(n) for n in requested} | set(REQUIRED_METHODS)
    return [n for n in BASELINES.names() if n in wanted]


def run_method(name: str, router: Router, data: EvalSet, n_timing: int, notify: Progress) -> MethodRun:
    """Fit (if trainable), score the test queries in chunks of `CHUNK`, then time single-query routing."""
    start = time.perf_counter()
    if isinstance(router, TrainableRouter):
        notify(name, "fit")
        router.fit(data.train, data.models)
    fitted = time.perf_counter()
    parts = []
    for begin in range(0, len(data.queries), CHUNK):
        notify(name, f"score {begin}/{len(data.queries)}")
        parts.append(np.asarray(router.score(data.queries.iloc[begin : begin + CHUNK], data.models), dtype=np.float64))
    scores = np.concatenate(parts)
    scored = time.perf_counter()
    if scores.shape != data.y.shape:
        raise ValueError(f"{name} returned scores of shape {scores.shape}, expected {data.y.shape}")
    notify(name, "time")
    latencies = []
    for i in range(min(n_timing, len(data.queries))):
        t0 = time.perf_counter()
        router.score(data.queries.iloc[i : i + 1], data.models)
        latencies.append((time.perf_counter() - t0) * 1000)
    timing = {
        "fit_s": fitted - start,
        "batch_ms_per_query": (scored - fitted) * 1000 / len(data.queries),
        "route_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
        "route_ms_p90": float(np.percentile(latencies, 90)) if latencies else None,
    }
    return MethodRun(scores, timing)


def cost_section(data: EvalSet, scores: dict[str, np.ndarray], best_single: str, options: EvalOptions) -> dict:
    """The report's `cost` section: every method but random and the oracle swept over λ (the oracle is a reference)."""
    cost = cost_matrix(data.test_rows, data.queries, data.models, options.prices)
    strong, weak = options.pair or (best_single, data.models[int(cost.mean(axis=0).argmin())])
    swept = {name: s for name, s in scores.items() if name not in ("random", "oracle")}
    source = {"source": "outcomes"}
    if options.prices is not None:
        prices = options.prices
        date = None if prices.date is None else str(prices.date)
        source = {"source": "prices", "date": date, "expected_output_tokens": prices.expected_output_tokens}
    section = {"costs": source, **cost_frontier(data.y, cost, swept, data.models, strong, weak, best_single)}
    if options.target_curves:
        texts = data.queries["prompt"].tolist()
        section["targets"] = targets_section(data.y, cost, scores, options.target_curves, data.models, texts)
    return section


def evaluate(
    outcomes: pd.DataFrame,
    options: EvalOptions,
    model_sat: Router | Mapping[str, Router] | None = None,
    progress: Progress | None = None,
) -> dict:
    """Evaluate the baselines (and Model-SAT when given: one router, named model-sat, or one per routing mode by
    method name) on the same test queries; return the report dict."""
    notify = progress or (lambda method, stage: None)
    data = build_eval_set(outcomes, options.models, options.aptitude_ids or (), options.limit, options.seed)
    routers: dict[str, Router] = {
        name: BASELINES.create(name, seed=options.seed, outcomes=data.test_rows, aptitude=data.aptitude_rows)
        for name in method_names(options.baselines)
    }
    if isinstance(model_sat, Router):
        routers["model-sat"] = model_sat
    elif model_sat is not None:
        routers |= dict(model_sat)
    runs: dict[str, MethodRun] = {}
    for name, router in routers.items():
        runs[name] = run_method(name, router, data, options.n_timing, notify)
        notify(name, "done")
    picks = {name: choices(run.scores) for name, run in runs.items()}
    methods = {name: method_metrics(data.queries, data.y, pick, data.models) for name, pick in picks.items()}
    methods["random"]["expected_accuracy"] = float(data.y.mean())
    singles = {
        m: method_metrics(data.queries, data.y, np.full(len(data.y), j), data.models) for j, m in enumerate(data.models)
    }
    report = build_report(
        data,
        methods,
        singles,
        timing={name: run.timing for name, run in runs.items()},
        options=options,
        curve=candidates_curve(data.y, {n: r.scores for n, r in runs.items()}, options.curve_subsets, options.seed),
    )
    for ours_name, key in VS_SECTIONS.items():
        if ours_name not in picks:
            continue
        ours = routed_scores(data.y, picks[ours_name])
        others = {name: routed_scores(data.y, pick) for name, pick in picks.items() if name != ours_name}
        report[key] = {name: paired_difference(ours, other, options.seed) for name, other in others.items()}
        if report["protocol"] == TASK_AVERAGED:
            weights = {d: w for d, w in task_weights(data.queries).items() if w.any()}
            report[f"{key}_task_averaged"] = {
                name: {d: paired_difference(ours, other, options.seed, weights=w) for d, w in weights.items()}
                for name, other in others.items()
            }
    if options.cost:
        best = routers["best-single"].best
        report["cost"] = cost_section(data, {n: r.scores for n, r in runs.items()}, best, options)
    if options.holdout:
        scores = {n: r.scores for n, r in runs.items()}
        report["new_models"] = new_models_section(
            data.queries, data.y, data.models, scores, options.holdout, options.seed
        )
        report["new_models"]["by_method"] = {
            n: new_model_metrics(data.y, p, data.models, options.holdout) for n, p in picks.items()
        }
    return report
