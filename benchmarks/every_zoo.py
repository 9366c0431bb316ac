"""One router on every zoo's test split, beside each zoo's dedicated router and the baselines its docs compare with.

Each zoo's rows are taken from the all-zoos table (`modelsat import all`; `all_zoos.rows_of_zoo`, the same rows as
the zoo's own import) and every figure is measured as its dedicated router's documented figure is:

- `mmlu-pro`: leave-models-out folds (a), (b) and (c) of docs/generalisation.md, routed accuracy with the new
  models joining by card (`modelsat evaluate --holdout`); its dedicated routers, trained on MMLU-Pro alone, are
  retired (the one router took their names, `routers/default` and `routers/fold-c`): their documented figures stay
  the bar.
- `specialists`: accuracy averaged over tasks, in and out of distribution, scored as RouterDC scores
  (docs/domains.md); dedicated: `routers/specialists`.
- `chat`: routed accuracy with the 13 `CHAT_NEW` models joining by card, and the gain over the zoo without them
  (docs/domains.md); its dedicated router, `routers/chat`, is retired (the one router, `routers/default`, routes chat
  at its figure or above): its documented figures stay the bar.
- `routerbench`: AIQ on the test queries at the outcomes' recorded costs, as `benchmarks/aiq_paired.py` computes it
  beside its peers kNN and per-task (docs/cost.md); dedicated: `routers/routerbench`.

Every router routes in its own default mode unless `--mode` says otherwise for `--router`; each router's test
queries exclude its own aptitude questions, as `evaluate` does, so the query counts are shown beside the figures.
`--fold-c-router` routes fold (c) with a router that held out fold (c)'s models (default: `--router`). A router
that lacks the card of a zoo model cannot route that zoo: it stops with an error naming the zoo and the models.
`--dedicated` also evaluates the dedicated routers in the same run (none on a retired router's zoo); the baselines
are fitted once per figure, on the dedicated router's test queries (a retired one's: `--router`'s). Full-mode scores
on RouterBench are kept in `--cache` (a folder) and reused while the router, mode and queries are the same.

Example:
    $ python benchmarks/every_zoo.py --dedicated -o out/every_zoo/dedicated.json
    $ python benchmarks/every_zoo.py --router routers/default --fold-c-router routers/fold-c --zoos mmlu-pro \
        -o out/every_zoo/default.json
"""

import argparse
import importlib.util
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards
from modelsat.baselines.registry import BASELINES
from modelsat.cost.matrix import cost_matrix
from modelsat.data.importers.all_zoos import rows_of_zoo
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import SMALL_5, resolve_zoo
from modelsat.errors import ModelsatError, RouterError
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.options import EvalOptions
from modelsat.evaluation.run import evaluate, load_model_sat, run_method
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.modes import default_mode
from modelsat.router.routing.service import METHOD_NAMES

HERE = Path(__file__).resolve().parent
ROUTERS = HERE.parent / "routers"
_spec = importlib.util.spec_from_file_location("aiq_paired", HERE / "aiq_paired.py")
aiq_paired = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aiq_paired)

ZOOS = {"mmlu-pro": "mmlu-pro", "specialists": "routerdc", "chat": "alpaca-eval", "routerbench": "routerbench"}
STRONG = ("Meta-Llama-3_1-70B-Instruct", "gemini-1.5-pro-002", "Qwen1.5-110B")
FOLD_C = (
    "Phi-3-mini-4k-instruct", "Llama-2-13b-hf", "mathstral-7B", "Mistral-7B-Instruct-v0.2", "Meta-Llama-3_1-70B",
    "Meta-Llama-3-8B", "DeepSeek-Coder-V2", "Mistral-7B-v0.2-hf",
)  # fmt: skip
CHAT_NEW = (
    "FuseChat-Gemma-2-9B-Instruct", "FuseChat-Llama-3.1-8B-Instruct", "FuseChat-Llama-3.2-1B-Instruct",
    "alpaca-7b_concise", "alpaca-farm-ppo-human", "baize-v2-13b", "falcon-7b-instruct", "gpt35_turbo_instruct",
    "gpt4_1106_preview", "nous-hermes-13b", "oasst-rlhf-llama-33b", "openbuddy-llama2-13b-v11.1", "ultralm-13b",
)  # fmt: skip
AIQ_PEERS = aiq_paired.PEERS  # kNN and per-task, as docs/cost.md compares
COLUMNS = ("best-single", "per-category", "per-task", "knn", "card-lookup", "uniroute", "routerdc", "zero-router")
ACCEPTANCE_POINTS = 0.5  # the bar: within 0.5 points of the dedicated router, or above it

Pick = Callable[[dict, str], float | None]  # (evaluate report, method) -> the figure in %, None when not reported


def accuracy(report: dict, method: str) -> float:
    """Routed accuracy on the test queries (with any new models joined)."""
    return 100 * report["methods"][method]["accuracy"]


def task_averaged(domain: str) -> Pick:
    """Accuracy averaged over the tasks of one domain (RouterDC's protocol)."""
    return lambda report, method: 100 * report["methods"][method]["task_averaged"][domain]


def gain(report: dict, method: str) -> float | None:
    """Routed accuracy with the new models minus without them (methods that see them by card or label)."""
    found = report["new_models"]["gain"].get(method)
    return None if found is None else 100 * found["difference"]


@dataclass(frozen=True)
class Figure:
    """One figure of a zoo, read off an evaluate report, and its documented value for the dedicated router."""

    label: str
    pick: Pick
    documented: float


@dataclass(frozen=True)
class Run:
    """One evaluation on a zoo's test split: its candidates, new models, dedicated router, baselines and figures."""

    zoo: str
    name: str
    dedicated: Path | None  # None: retired, its documented figures kept as the bar
    zoo_name: str | None
    models: tuple[str, ...] | None
    holdout: tuple[str, ...]
    baselines: tuple[str, ...]
    figures: tuple[Figure, ...]
    aiq: bool = False
    fold_c: bool = False  # routed by `--fold-c-router` when given

    def candidates(self, table: pd.DataFrame) -> list[str]:
        """The zoo's candidate models in `table` (one zoo's rows)."""
        return resolve_zoo(table["model"].unique(), zoo=self.zoo_name, models=list(self.models or ()) or None)


FOLD_BASELINES = ("best-single", "per-category", "per-task", "knn", "card-lookup", "uniroute")
RUNS = (
    Run("mmlu-pro", "(a) small-5, Phi-3-mini by card", None, "small-5", None,
        ("Phi-3-mini-4k-instruct",), FOLD_BASELINES, (Figure("MMLU-Pro (a) accuracy", accuracy, 45.0),)),
    Run("mmlu-pro", "(b) small-5 + 3 large by card", None, None, (*SMALL_5, *STRONG),
        STRONG, FOLD_BASELINES, (Figure("MMLU-Pro (b) accuracy", accuracy, 70.2),)),
    Run("mmlu-pro", "(c) all 25, 8 by card", None, "all", None, FOLD_C, FOLD_BASELINES,
        (Figure("MMLU-Pro (c) accuracy", accuracy, 71.7),), fold_c=True),
    Run("specialists", "specialists", ROUTERS / "specialists", "specialists", None, (),
        ("best-single", "per-task", "knn", "card-lookup", "uniroute", "routerdc"),
        (Figure("specialists task-avg in", task_averaged("in_domain"), 57.77),
         Figure("specialists task-avg out", task_averaged("out_of_domain"), 46.05))),
    Run("chat", "chat, 13 of 38 by card", None, "chat", None, CHAT_NEW,
        ("best-single", "per-task", "knn", "card-lookup", "uniroute"),
        (Figure("chat accuracy with the 13", accuracy, 73.4), Figure("chat gain from the 13", gain, 60.7))),
    Run("routerbench", "routerbench AIQ", ROUTERS / "routerbench", "all", None, (), AIQ_PEERS,
        (Figure("RouterBench AIQ", lambda report, method: report["aiq"][method], 83.55),), aiq=True),
)  # fmt: skip


@dataclass(frozen=True)
class Contender:
    """A router evaluated on a run: its folder, cards and routing mode."""

    router: Path
    cards: Path | None
    mode: str

    @property
    def method(self) -> str:
        return METHOD_NAMES[self.mode]

    @property
    def key(self) -> str:
        """What its scores depend on: the router folder, the cards and the mode."""
        return f"{self.router.resolve()} {self.cards and self.cards.resolve()} {self.mode}"


def contender(router: Path, cards: Path | None, mode: str | None) -> Contender:
    """A router in `mode`, or in its own default mode."""
    return Contender(router, cards, mode or default_mode(read_router_config(router)[0].router))


def check_cards(who: Contender, run: Run, models: Sequence[str]) -> None:
    """Refuse a router that lacks the card of a model of the run's zoo.

    Raises:
        RouterError: naming the zoo, the figure and the models without a card.
    """
    path = who.cards or who.router / "cards.json"
    have = load_cards(path)
    missing = [m for m in models if m not in have]
    if missing:
        raise RouterError(
            f"{who.router} cannot route zoo {run.zoo!r} ({run.name}): {path} has no card for {len(missing)} of its "
            f"{len(models)} model(s): {', '.join(missing)}; make them with `modelsat profile --router {who.router}`"
        )


def zoo_tables(outcomes: Path, zoos: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Each zoo's rows of the all-zoos table."""
    table = read_outcomes(outcomes)
    return {zoo: rows_of_zoo(table, ZOOS[zoo]) for zoo in zoos}


def evaluated(
    run: Run,
    table: pd.DataFrame,
    who: Contender | None,
    baselines: Sequence[str],
    seed: int,
    cache: Path | None,
    queries_of: Path,
) -> dict:
    """An evaluate report of the run (or, on RouterBench, its AIQ per method) for one router (or none: the baselines
    alone, on the test queries of router folder `queries_of`, those left by its aptitude questions)."""
    models = run.candidates(table)
    if who is None:
        aptitude = AptitudeSet.load(queries_of / "aptitude.json").query_ids
        routers = {}
    else:
        check_cards(who, run, models)
        routers, aptitude = load_model_sat(who.router, who.cards, [who.mode])
    if run.aiq:
        stored = None if who is None or cache is None else (cache / f"{slug(who)}.npz", who.key)
        return aiq_report(table, models, aptitude, routers, baselines, seed, stored)
    options = EvalOptions(
        models=models, baselines=list(baselines), zoo_name=run.zoo_name, aptitude_ids=aptitude, seed=seed,
        holdout=list(run.holdout), n_timing=0, curve_subsets=1,
    )  # fmt: skip
    return evaluate(table, options, routers or None)


def slug(who: Contender) -> str:
    """A file name for a router folder in one mode."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{who.router.resolve()}-{who.mode}".strip("/"))


def cached_scores(name: str, router, data, stored: tuple[Path, str] | None) -> np.ndarray:
    """The router's scores of the test queries, from the file of `stored` (file, key) when it holds them for this key
    (router, cards and mode) and these queries."""
    ids = data.queries["query_id"].to_numpy(dtype=str)
    if stored is not None and stored[0].exists():
        with np.load(stored[0], allow_pickle=False) as got:
            if "key" in got.files and str(got["key"]) == stored[1] and np.array_equal(got["query_ids"], ids):
                return got["scores"]
    scores = run_method(name, router, data, 0, lambda *_: None).scores
    if stored is not None:
        stored[0].parent.mkdir(parents=True, exist_ok=True)
        np.savez(stored[0], key=np.array(stored[1]), query_ids=ids, scores=scores)
    return scores


def aiq_report(
    table: pd.DataFrame,
    models: list[str],
    aptitude: frozenset[str],
    routers: dict,
    baselines: Sequence[str],
    seed: int,
    stored: tuple[Path, str] | None,
) -> dict:
    """AIQ (in %) of each router and baseline on the test queries, each with kNN and per-task beside it, as
    `benchmarks/aiq_paired.py` computes it (the common cost range spans every method, the singles and the oracle).
    A router's scores are kept in `stored` (.npz file, key)."""
    data = build_eval_set(table, models, aptitude, None, seed)
    peers = {
        name: BASELINES.create(name, seed=seed, outcomes=data.test_rows, aptitude=data.aptitude_rows)
        for name in AIQ_PEERS
    }
    scores = {name: run_method(name, router, data, 0, lambda *_: None).scores for name, router in peers.items()}
    cost = cost_matrix(data.test_rows, data.queries, data.models, None)
    out = {"n_queries": len(data.y), "aiq": {}}
    for name, router in routers.items():
        ours = cached_scores(name, router, data, stored)
        got = aiq_paired.aiqs(data.y, cost, {"model-sat": ours, **scores}, data.models)
        out["aiq"][name] = 100 * got["model-sat"]
    got = aiq_paired.aiqs(data.y, cost, scores, data.models)
    out["aiq"] |= {name: 100 * got[name] for name in [*baselines, "zero-router"] if name in got}
    return out


def queries(report: dict) -> int:
    """The number of test queries a report routed."""
    return int(report["n_queries"])


def judged(run: Run, args: argparse.Namespace) -> Contender:
    """The router judged on `run`: `--fold-c-router` on fold (c) when given, else `--router`."""
    router = args.fold_c_router if run.fold_c and args.fold_c_router else args.router
    return contender(router, args.cards, args.mode)


def measure(args: argparse.Namespace) -> dict:
    """Every figure of the zoos asked for: the router's, the dedicated router's (with `--dedicated`) and the
    baselines'."""
    tables = zoo_tables(args.outcomes, args.zoos)
    runs = [r for r in RUNS if r.zoo in args.zoos and (r.dedicated is not None or args.router is not None)]
    for run in runs if args.router is not None else ():  # a router that cannot route a zoo stops before any work
        check_cards(judged(run, args), run, run.candidates(tables[run.zoo]))
    rows = []
    for run in runs:
        start = time.perf_counter()
        table = tables[run.zoo]
        dedicated = contender(run.dedicated, None, None) if args.dedicated and run.dedicated is not None else None
        who = judged(run, args) if args.router is not None else None
        queries_of = run.dedicated or who.router  # a retired router's zoo is run only with --router
        reference = evaluated(run, table, dedicated, run.baselines, args.seed, args.cache, queries_of)
        ours = None
        if who is not None:
            ours = (who, evaluated(run, table, who, (), args.seed, args.cache, who.router))
        for figure in run.figures:
            row = {
                "zoo": run.zoo,
                "run": run.name,
                "figure": figure.label,
                "documented": figure.documented,
                "baselines": {n: figure.pick(reference, n) for n in (*run.baselines, *(("zero-router",) * run.aiq))},
                "n_queries": {"baselines": queries(reference)},
            }  # fmt: skip
            if dedicated is not None:
                row["dedicated"] = {
                    "router": str(dedicated.router),
                    "mode": dedicated.mode,
                    "value": figure.pick(reference, dedicated.method),
                }
            if ours is not None:
                who, report = ours
                row["router"] = {"router": str(who.router), "mode": who.mode, "value": figure.pick(report, who.method)}
                row["n_queries"]["router"] = queries(report)
                if dedicated is not None and row["router"]["value"] is not None:
                    row["router"]["minus_dedicated"] = row["router"]["value"] - row["dedicated"]["value"]
                    row["router"]["meets_bar"] = row["router"]["minus_dedicated"] >= -ACCEPTANCE_POINTS
            rows.append(row)
        rows[-1]["seconds"] = time.perf_counter() - start
        print(f"{run.name}: {rows[-1]['seconds']:.0f} s", flush=True)
    return {"router": None if args.router is None else str(args.router), "figures": rows}


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def render(result: dict) -> Table:
    """The figures as one table: a row per zoo figure, the router and the dedicated router beside the baselines."""
    table = Table(title="Every zoo's test split (figures in %; AIQ × 100)")
    table.add_column("figure")
    table.add_column("queries", justify="right")
    table.add_column(result["router"] or "router", justify="right")
    for name in ("dedicated", "documented", "router − dedicated", *COLUMNS):
        table.add_column(name, justify="right")
    for row in result["figures"]:
        ours, ded = row.get("router", {}), row.get("dedicated", {})
        counts = " / ".join(str(n) for n in row["n_queries"].values())
        table.add_row(
            row["figure"],
            counts,
            _cell(ours.get("value")) + (f" ({ours['mode']})" if ours else ""),
            _cell(ded.get("value")) + (f" ({Path(ded['router']).name}, {ded['mode']})" if ded else ""),
            _cell(row["documented"]),
            _cell(ours.get("minus_dedicated")),
            *(_cell(row["baselines"].get(name)) for name in COLUMNS),
        )
    return table


def parse_zoos(text: str) -> list[str]:
    """`--zoos` as known zoo names, in the order given."""
    zoos = [z.strip() for z in text.split(",") if z.strip()]
    unknown = [z for z in zoos if z not in ZOOS]
    if unknown or not zoos:
        raise argparse.ArgumentTypeError(
            f"unknown zoo(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ZOOS)}"
        )
    return zoos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--router", type=Path, default=None, help="The router to judge (cards for every zoo).")
    parser.add_argument("--cards", type=Path, default=None, help="Its cards (default: the router's cards.json).")
    parser.add_argument("--fold-c-router", type=Path, default=None, help="Routes fold (c) (default: --router).")
    parser.add_argument("--mode", choices=("fast", "full"), default=None, help="--router's mode (default: its own).")
    parser.add_argument("--zoos", type=parse_zoos, default=list(ZOOS), help="Comma-separated: " + ",".join(ZOOS))
    parser.add_argument("--dedicated", action="store_true", help="Also evaluate each zoo's dedicated router.")
    parser.add_argument("--outcomes", type=Path, default=Path("out/all.parquet"), help="`modelsat import all` table.")
    parser.add_argument("--cache", type=Path, default=Path("out/every_zoo/cache"), help="RouterBench scores (.npz).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, required=True, help="Where to write the figures as JSON.")
    args = parser.parse_args()
    if args.router is None and not args.dedicated:
        parser.error("give --router, --dedicated or both")
    try:
        result = measure(args)
    except ModelsatError as exc:
        raise SystemExit(f"Error: {exc}") from exc
    Console(width=250).print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
