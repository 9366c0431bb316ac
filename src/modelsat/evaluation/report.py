"""`report.json` (DESIGN §6) and its Table-1-style markdown rendering.

Example:
    report = build_report(data, methods, singles, timing, options, curve)
    print(to_markdown(report))
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelsat.data.zoos import ZOOS
from modelsat.evaluation.metrics import declares_domains
from modelsat.evaluation.targets import targets_markdown
from modelsat.io import atomic_write_text

if TYPE_CHECKING:
    from modelsat.evaluation.dataset import EvalSet
    from modelsat.evaluation.options import EvalOptions

MODEL_SAT = "model-sat"
TASK_AVERAGED = "task-averaged"  # queries declare their domain (RouterDC's protocol): tasks weigh the same
MODEL_SAT_FAST = "model-sat-fast"  # the fast routing mode (no capability-LLM forward)
MODEL_SAT_METHODS = (MODEL_SAT, MODEL_SAT_FAST)
NO_MODEL_SAT = "Model-SAT not evaluated: pass --router DIR --cards cards.json to include it."
NO_APTITUDE = "Aptitude questions were not excluded: pass --router or --aptitude to exclude them."


def build_report(
    data: "EvalSet",
    methods: dict[str, dict],
    singles: dict[str, dict],
    timing: dict[str, dict],
    options: "EvalOptions",
    curve: dict,
) -> dict[str, Any]:
    """Assemble the report: schema of DESIGN §6 plus per-model breakdowns, notes and the candidates curve."""
    notes = []
    ours = [name for name in MODEL_SAT_METHODS if name in methods]
    if not ours:
        notes.append(NO_MODEL_SAT)
    if options.aptitude_ids is None:
        notes.append(NO_APTITUDE)
    headline = timing.get(ours[0], {}) if ours else {}
    return {
        "protocol": TASK_AVERAGED if declares_domains(data.queries) else "query-weighted",
        "zoo": list(data.models),
        "zoo_name": options.zoo_name if options.zoo_name in ZOOS else None,
        "split": "test",
        "n_queries": int(len(data.queries)),
        "n_train_queries": int(data.train["query_id"].nunique()),
        "aptitude_excluded": None if options.aptitude_ids is None else len(options.aptitude_ids),
        "seed": options.seed,
        "limit": options.limit,
        "models": {m: s["accuracy"] for m, s in singles.items()},
        "methods": methods,
        "singles": singles,
        "model_sat_included": bool(ours),
        "notes": notes,
        "timing": {
            "method": ours[0] if headline else None,
            "route_ms_p50": headline.get("route_ms_p50"),
            "route_ms_p90": headline.get("route_ms_p90"),
            "by_method": timing,
        },
        "candidates_curve": curve,
    }


def write_report(report: dict, path: Path) -> None:
    """Write the report as indented JSON, atomically."""
    atomic_write_text(Path(path), json.dumps(report, indent=1) + "\n")


def _pct(value: float | None) -> str:
    """A fraction as a percentage with one decimal; – when missing."""
    return "–" if value is None else f"{100 * value:.1f}"


def table_rows(report: dict) -> list[tuple[str, dict]]:
    """Rows in Table-1 order: single models, best single, random, oracle, other baselines, Model-SAT."""
    rows = [(name, stats) for name, stats in report["singles"].items()]
    methods = report["methods"]
    first = ["best-single", "random", "oracle"]
    rest = sorted(n for n in methods if n not in first and n not in MODEL_SAT_METHODS)
    order = [n for n in first if n in methods] + rest + [n for n in MODEL_SAT_METHODS if n in methods]
    return rows + [(f"**{name}**", methods[name]) for name in order]


def to_markdown(report: dict) -> str:
    """Markdown table: rows per single model and method; columns in/out-of-domain, each category, mean (%).

    Under the task-averaged protocol the columns are the task-averaged in/out-of-domain accuracies, each task,
    then the query-weighted ones."""
    rows = table_rows(report)
    by_task = report.get("protocol") == TASK_AVERAGED
    groups = sorted({c for _, stats in rows for c in stats["by_task" if by_task else "by_category"]})
    lead = ["in-domain (task avg)", "out-of-domain (task avg)"] if by_task else []
    header = ["router", *lead, *(groups if by_task else []), "in-domain", "out-of-domain"]
    header += [*([] if by_task else groups), "mean"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, stats in rows:
        domains = [_pct(stats["by_domain"]["in_domain"]), _pct(stats["by_domain"]["out_of_domain"])]
        if by_task:
            averaged = stats["task_averaged"]
            cells = [_pct(averaged["in_domain"]), _pct(averaged["out_of_domain"])]
            cells += [_pct(stats["by_task"].get(t)) for t in groups] + domains
        else:
            cells = domains + [_pct(stats["by_category"].get(c)) for c in groups]
        lines.append("| " + " | ".join([name, *cells, _pct(stats["accuracy"])]) + " |")
    caption = f"Zoo {report['zoo_name'] or ', '.join(report['zoo'])}: {report['n_queries']:,} test queries."
    text = "\n".join([caption, "", *lines, *[f"\n> {note}" for note in report["notes"]]]) + "\n"
    # the default mode of a router with fast terms first: its differences are what a user of that router gets
    for key, method in (("model_sat_fast_vs", "Model-SAT fast"), ("model_sat_vs", "Model-SAT")):
        if key in report:
            text += "\n" + comparison_markdown(report[key], method)
        if f"{key}_task_averaged" in report:
            text += "\n" + task_averaged_comparison_markdown(report[f"{key}_task_averaged"], method)
    if "new_models" in report:
        text += "\n" + new_models_markdown(report["new_models"])
    if "cost" in report:
        text += "\n" + cost_markdown(report["cost"]) + targets_markdown(report["cost"].get("targets", {}))
    return text


def new_models_markdown(section: dict) -> str:
    """Routed accuracy with and without the new models, each method's gain (95 % interval), and their shares."""
    best = section["best_new"]
    lines = [
        f"New models (never trained on; Model-SAT, card-lookup and uniroute know them by their aptitude answers "
        f"only, the other methods were fitted with their train labels): {', '.join(section['models'])}. "
        f"Best new model alone: {best['model']} {_pct(best['accuracy'])} %.",
        "",
        "| method | without | with | gain | 95 % interval |",
        "|---|---:|---:|---:|---|",
    ]
    for name, acc in section["accuracy"].items():
        gain = section["gain"].get(name)
        cells = (
            ["–", "–"]
            if gain is None
            else [_points(gain["difference"]), "[{}, {}]".format(*map(_points, gain["ci95"]))]
        )
        lines.append(f"| {name} | {_pct(acc['without'])} | {_pct(acc['with'])} | " + " | ".join(cells) + " |")
    if section["realised"]:
        parts = [f"{100 * share:.0f} % of {ref}'s" for ref, share in section["realised"].items()]
        lines += ["", "Model-SAT's gain is " + ", ".join(parts) + " gain."]
    methods = [
        m
        for m in ("model-sat", "model-sat-fast", "card-lookup", "uniroute", "knn", "per-category")
        if m in section["accuracy"]
    ]
    header = ["new model", *methods, "hindsight-per-category"]
    lines += ["", "Share of test queries routed to each new model (%):", "", "| " + " | ".join(header) + " |"]
    lines.append("|---|" + "---:|" * (len(header) - 1))
    for model, shares in section["share"].items():
        lines.append(f"| {model} | " + " | ".join(_share(shares.get(m)) for m in header[1:]) + " |")
    return "\n".join(lines) + "\n"


def _points(value: float) -> str:
    """A difference of fractions in percentage points, signed, one decimal."""
    return f"{100 * value:+.1f}"


def comparison_markdown(comparison: dict, method: str = "Model-SAT") -> str:
    """`method` minus each other method on the same queries, with 95 % paired-bootstrap intervals."""
    lines = [
        f"{method} minus each method, in points, with a 95 % paired-bootstrap interval over the queries:",
        "",
        "| method | difference | 95 % interval |",
        "|---|---:|---|",
    ]
    for name, diff in comparison.items():
        low, high = diff["ci95"]
        lines.append(f"| {name} | {_points(diff['difference'])} | [{_points(low)}, {_points(high)}] |")
    return "\n".join(lines) + "\n"


def task_averaged_comparison_markdown(comparison: dict, method: str = "Model-SAT") -> str:
    """`method` minus each other method, task-averaged per domain, with 95 % paired-bootstrap intervals."""
    domains = sorted({d for per_domain in comparison.values() for d in per_domain})
    lines = [
        f"{method} minus each method, task-averaged (every task weighs the same), in points, 95 % intervals:",
        "",
        "| method | " + " | ".join(d.replace("_", "-") for d in domains) + " |",
        "|---|" + "---:|" * len(domains),
    ]
    for name, per_domain in comparison.items():
        cells = []
        for domain in domains:
            diff = per_domain.get(domain)
            cells.append(
                "–" if diff is None else "{} [{}, {}]".format(*map(_points, [diff["difference"], *diff["ci95"]]))
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _usd(value: float | None) -> str:
    """USD per query in millidollars (three significant digits); – when missing."""
    return "–" if value is None else f"{1000 * value:.3g}"


def _share(value: float | None) -> str:
    """A share as a whole percentage; – when missing or unreached."""
    return "–" if value is None else f"{100 * value:.0f}"


def cost_markdown(cost: dict) -> str:
    """The frontier table: AIQ, best quality and its cost, the cost of best-single quality, APGR and CPT."""
    best = cost["best_single"]
    pair = cost["pair"]
    header = (
        "| method | AIQ | max quality | its cost (m$) | cost at best-single quality (m$) | λ there | saved | "
        "APGR | CPT(50%) | CPT(80%) |"
    )
    lines = [header, "|---|" + "---:|" * 9]
    rows = [("zero-router", cost["zero_router"]), ("oracle", cost["oracle"]), *cost["methods"].items()]
    for name, stats in rows:
        at = stats.get("at_best_single_quality")
        lam = None if at is None else at["lambda"]
        cells = [
            _pct(stats["aiq"]),
            _pct(stats["max_quality"]),
            _usd(stats.get("cost_at_max_quality")),
            _usd(None if at is None else at["cost"]),
            "–" if lam is None else (lam if isinstance(lam, str) else f"{lam:.3g}"),
            _share(None if at is None else at["saved"]),
            "–" if stats.get("apgr") is None else f"{stats['apgr']:.3f}",
            _share(stats.get("cpt", {}).get("50")),
            _share(stats.get("cpt", {}).get("80")),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    caption = (
        f"Quality–cost frontier (costs: {cost['costs']['source']}). Best single: {best['model']} "
        f"{_pct(best['quality'])} % at {_usd(best['cost'])} m$ per query. AIQ over "
        f"{_usd(cost['cost_range'][0])}–{_usd(cost['cost_range'][1])} m$ (%); saved and CPT in %; "
        f"APGR/CPT for {pair['strong']} (strong) vs {pair['weak']} (weak)."
    )
    return "\n".join([caption, "", *lines]) + "\n"
