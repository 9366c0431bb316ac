"""PNG plots of a report (matplotlib, Agg backend): methods, routed-model share, accuracy vs candidates,
and the quality–cost frontier when the report has one.

Example:
    paths = write_plots(report, Path("plots"))  # methods.png, share.png, candidates.png[, new-models.png, frontier.png]
"""

import textwrap
from pathlib import Path

import numpy as np

from modelsat.evaluation.report import MODEL_SAT


def _pyplot():
    """pyplot on the non-interactive Agg backend (imported lazily: matplotlib is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(plt, n: int) -> list:
    """`n` distinct colours (tab20 then tab20b: 40 before any repeats)."""
    palette = list(plt.get_cmap("tab20").colors) + list(plt.get_cmap("tab20b").colors)
    return [palette[i % len(palette)] for i in range(n)]


def plot_methods(report: dict, path: Path) -> Path:
    """Bar chart of each method's routed accuracy with the oracle as a dashed line."""
    plt = _pyplot()
    methods = {n: s["accuracy"] for n, s in report["methods"].items() if n != "oracle"}
    names = sorted(methods, key=methods.__getitem__)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(names) + 1.5))
    colours = ["tab:red" if n == MODEL_SAT else "tab:blue" for n in names]
    ax.barh(names, [100 * methods[n] for n in names], color=colours)
    oracle = report["methods"]["oracle"]["accuracy"]
    ax.axvline(100 * oracle, color="k", linestyle="--", label=f"oracle {100 * oracle:.1f}%")
    ax.set_xlabel("routed accuracy on test queries (%)")
    ax.set_title(f"Routing methods, {report['zoo_name'] or str(len(report['zoo'])) + ' models'}")
    ax.legend(loc="lower right")
    return _save(fig, plt, path)


def plot_share(report: dict, path: Path) -> Path:
    """Stacked horizontal bars: the share of test queries each method routes to each model."""
    plt = _pyplot()
    names = list(report["methods"])
    models = report["zoo"]
    share = np.array([[report["methods"][n]["share"][m] for m in models] for n in names])
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(names) + 2))
    left = np.zeros(len(names))
    for j, (model, colour) in enumerate(zip(models, _colours(plt, len(models)), strict=True)):
        ax.barh(names, 100 * share[:, j], left=100 * left, color=colour, label=model)
        left += share[:, j]
    ax.set_xlabel("share of routed test queries (%)")
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _save(fig, plt, path)


def plot_candidates(report: dict, path: Path) -> Path:
    """Mean routed accuracy against the number of candidates (random sub-zoos)."""
    plt = _pyplot()
    curve = report["candidates_curve"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, values), colour in zip(curve["accuracy"].items(), _colours(plt, len(curve["accuracy"])), strict=True):
        style = "--" if name in ("oracle", "random") else "-"
        ax.plot(curve["sizes"], [100 * v for v in values], style, color=colour, marker="o", markersize=3, label=name)
    ax.set_xlabel("number of candidate models")
    ax.set_ylabel("routed accuracy (%)")
    ax.legend(fontsize=7)
    return _save(fig, plt, path)


def plot_frontier(report: dict, path: Path) -> Path:
    """Quality against mean cost per query: λ sweeps and hulls, the zero-router, the oracle and the single models."""
    plt = _pyplot()
    cost = report["cost"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    curves = {"oracle": cost["oracle"], **cost["methods"]}
    for (name, stats), colour in zip(curves.items(), _colours(plt, len(curves)), strict=True):
        hull = np.array(stats["hull"] + [[cost["cost_range"][1], stats["hull"][-1][1]]])
        points = np.array([[p["cost"], p["quality"]] for p in stats["points"]])
        width, style = (2.5, "-") if name == MODEL_SAT else (1.2, ":" if name == "oracle" else "-")
        ax.plot(
            hull[:, 0],
            100 * hull[:, 1],
            style,
            color=colour,
            linewidth=width,
            label=f"{name} (AIQ {100 * stats['aiq']:.1f})",
        )
        ax.scatter(points[:, 0], 100 * points[:, 1], color=colour, s=6)
    zero = np.array(cost["zero_router"]["hull"] + [[cost["cost_range"][1], cost["zero_router"]["hull"][-1][1]]])
    ax.plot(
        zero[:, 0], 100 * zero[:, 1], "--", color="k", label=f"zero-router (AIQ {100 * cost['zero_router']['aiq']:.1f})"
    )
    for model, point in cost["singles"].items():
        ax.scatter([point["cost"]], [100 * point["quality"]], marker="s", color="k", s=14)
        ax.annotate(
            model, (point["cost"], 100 * point["quality"]), fontsize=6, xytext=(3, -8), textcoords="offset points"
        )
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per query (USD, log scale)")
    ax.set_ylabel("routed quality on test queries (%)")
    ax.legend(fontsize=7, loc="best")
    return _save(fig, plt, path)


def plot_new_models(report: dict, path: Path) -> Path:
    """Routed accuracy against the number of unseen models added to the zoo, one line per method."""
    plt = _pyplot()
    section = report["new_models"]
    curve = section["curve"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in curve["accuracy"].items():
        style = {"color": "k", "linewidth": 2.8, "zorder": 3} if name == MODEL_SAT else {"linewidth": 1.2}
        ax.plot(curve["n_new"], [100 * v for v in values], marker="o", label=name, **style)
    best = section["best_new"]
    ax.axhline(100 * best["accuracy"], color="grey", linestyle=":", label=f"{best['model']} alone")
    ax.set_xticks(curve["n_new"])
    ax.set_xlabel("unseen models added to the zoo")
    ax.set_ylabel("routed accuracy on test queries (%)")
    ax.set_title(textwrap.fill(f"Adding unseen models: {', '.join(section['models'])}", 80), fontsize=9)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _save(fig, plt, path)


def _save(fig, plt, path: Path) -> Path:
    """Write `fig` as PNG and free it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def write_plots(report: dict, folder: Path) -> list[Path]:
    """All plots into `folder` (frontier.png with a cost section, new-models.png with new models)."""
    folder = Path(folder)
    paths = [
        plot_methods(report, folder / "methods.png"),
        plot_share(report, folder / "share.png"),
        plot_candidates(report, folder / "candidates.png"),
    ]
    if "new_models" in report:
        paths.append(plot_new_models(report, folder / "new-models.png"))
    return paths + ([plot_frontier(report, folder / "frontier.png")] if "cost" in report else [])
