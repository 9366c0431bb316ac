"""`modelsat evaluate`: Model-SAT (when given) and every baseline on the same test queries → report.json.

Never trains Model-SAT; baselines are fitted on the zoo's train split. Prints the markdown table.

Example:
    $ modelsat evaluate --outcomes out/mmlu.parquet --zoo small-5 --aptitude out/aptitude.json -o report.json
    $ modelsat evaluate --outcomes out/mmlu.parquet --zoo small-5 --router DIR --cards cards.json -o report.json
    $ modelsat evaluate --outcomes out/routerbench.parquet --zoo all --cost -o report.json --plots plots/
    $ modelsat evaluate --outcomes out/mmlu.parquet --zoo small-5 --router routers/default --mode fast -o r.json
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn

from modelsat.errors import ConfigError

err = Console(stderr=True)


def evaluate_command(
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write report.json.")],
    zoo: Annotated[str | None, typer.Option("--zoo", help="Named zoo, e.g. small-5, specialists, chat.")] = None,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated candidate models.")] = None,
    router: Annotated[Path | None, typer.Option("--router", help="Trained Model-SAT router directory.")] = None,
    cards: Annotated[Path | None, typer.Option("--cards", help="Cards (default: the router's cards.json).")] = None,
    baselines: Annotated[str, typer.Option("--baselines", help="'all' or comma-separated names.")] = "all",
    aptitude: Annotated[
        Path | None, typer.Option("--aptitude", help="Aptitude set to exclude (default: the router's).")
    ] = None,
    holdout: Annotated[str | None, typer.Option("--holdout", help="New model(s) the router never trained on.")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate a random sample of N test queries.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of random routing, sampling and learned baselines.")] = 0,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Also write the table as markdown.")] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Folder for PNG plots.")] = None,
    cost: Annotated[
        bool, typer.Option("--cost", help="Add the quality–cost frontier (λ sweep, AIQ, APGR, CPT); see docs/cost.md.")
    ] = False,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Prices YAML (USD per 1M tokens); default: the outcomes' cost.")
    ] = None,
    pair: Annotated[
        str | None, typer.Option("--pair", help="STRONG,WEAK models for APGR/CPT (default: best single, cheapest).")
    ] = None,
    targets: Annotated[
        bool,
        typer.Option(
            "--targets",
            help="With --cost and --router: route the test queries at each calibrated target's λ "
            "(ROUTER/targets.json, `calibrate --targets`) and report what they got against the promise.",
        ),
    ] = False,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="Model-SAT's routing mode: full (method model-sat), fast (model-sat-fast), or both, as two methods "
            "on the same queries.",
        ),
    ] = "both",
) -> None:
    """Evaluate routing methods on the test queries answered by every zoo model."""
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.cost.prices import load_prices
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import check_models, parse_models, resolve_zoo
    from modelsat.evaluation import plots as plotting
    from modelsat.evaluation.report import to_markdown, write_report
    from modelsat.evaluation.run import EvalOptions, evaluate, load_model_sat, method_names

    if cards is not None and router is None:
        raise ConfigError("--cards needs --router (the Model-SAT router directory)")
    if (prices or pair or targets) and not cost:
        raise ConfigError("--prices, --pair and --targets only apply with --cost")
    if targets and router is None:
        raise ConfigError("--targets needs --router (the targets are calibrated for a Model-SAT router)")
    table = read_outcomes(outcomes)
    zoo_models = resolve_zoo(table["model"].unique(), zoo=zoo, models=models)
    modes = _modes(mode)
    model_sat, aptitude_ids = load_model_sat(router, cards, modes) if router else (None, None)
    if aptitude is not None:
        aptitude_ids = AptitudeSet.load(aptitude).query_ids
    options = EvalOptions(
        models=zoo_models,
        baselines=_all_baselines(aptitude_ids is not None) if baselines == "all" else parse_models(baselines),
        zoo_name=zoo,
        aptitude_ids=aptitude_ids,
        limit=limit,
        seed=seed,
        holdout=check_models(parse_models(holdout), zoo_models) if holdout else [],
        cost=cost,
        prices=load_prices(prices) if prices else None,
        pair=_pair(pair, zoo_models) if pair else None,
        target_curves=_curves(router, modes) if targets and router else {},
    )
    if options.prices is not None:
        options.prices.check(zoo_models, str(prices))
    n_methods = len(method_names(options.baselines)) + len(model_sat or [])
    with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[method]}"), console=err) as bar:
        task = bar.add_task("routing methods", total=n_methods, method="")

        def progress(method: str, stage: str) -> None:
            bar.update(task, advance=stage == "done", method=f"{method} ({stage})")

        report = evaluate(table, options, model_sat, progress)
    write_report(report, out)
    text = to_markdown(report)
    if markdown:
        markdown.write_text(text)
    if plots:
        plotting.write_plots(report, plots)
    typer.echo(text)


def _modes(text: str) -> list[str]:
    """`--mode` as the routing modes to evaluate: full first (its method, model-sat, is the paper's)."""
    if text not in ("fast", "full", "both"):
        raise ConfigError(f"--mode must be fast, full or both; got {text!r}")
    return ["full", "fast"] if text == "both" else [text]


def _all_baselines(have_aptitude: bool) -> list[str]:
    """Every registered baseline; those that read aptitude answers only when an aptitude set is known."""
    from modelsat.baselines.registry import BASELINES

    return [n for n in BASELINES.names() if have_aptitude or not getattr(BASELINES.get(n), "reads_aptitude", False)]


def _curves(router: Path, modes: list[str]) -> dict:
    """Model-SAT's calibrated targets per method name, for the routing modes evaluated."""
    from modelsat.cost.targets import TargetCurve, targets_file
    from modelsat.router.routing.service import METHOD_NAMES

    return {METHOD_NAMES[m]: TargetCurve.load(router / targets_file(m)) for m in modes}


def _pair(text: str, zoo_models: list[str]) -> tuple[str, str]:
    """`--pair STRONG,WEAK` as two zoo models."""
    from modelsat.data.zoos import check_models, parse_models

    names = check_models(parse_models(text), zoo_models)
    if len(names) != 2 or names[0] == names[1]:
        raise ConfigError(f"--pair takes two different models, STRONG,WEAK; got {text!r}")
    return names[0], names[1]


def register(app: typer.Typer) -> None:
    """Add `evaluate` to `app`."""
    app.command("evaluate")(evaluate_command)
