"""`modelsat train`: capability instruction tuning of a router on an outcomes table.

Example:
    $ modelsat train --outcomes outcomes.parquet --zoo small -o routers/mine --config cpu-small
"""

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelsat.cli.options import DeviceOption, ModelsOption, SetOption, ZooOption

err = Console(stderr=True)


def train(
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet file (modelsat import ...).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Router directory to write.")],
    zoo: ZooOption = None,
    models: ModelsOption = None,
    holdout: Annotated[
        str | None,
        typer.Option("--holdout", help="Models left out of training; they join by their aptitude test (card only)."),
    ] = None,
    config: Annotated[
        str, typer.Option("--config", "-c", help="Preset name (cpu-small, paper) or a YAML config file.")
    ] = "cpu-small",
    overrides: SetOption = None,
    zoos: Annotated[
        str | None,
        typer.Option(
            "--zoos",
            help="Train and validate on these zoos of an `import all` table only, e.g. mmlu-pro,routerdc,alpaca-eval "
            "(their first query-id part); --zoo picks among their models, and a held-out model of any zoo joins by "
            "its card.",
        ),
    ] = None,
    aptitude: Annotated[
        Path | None,
        typer.Option(
            "--aptitude",
            help="Train with this aptitude set (a file, or `unified` for the shipped one test of every kind of "
            "request) instead of selecting one from the outcomes.",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/checkpoints/last.pt.")] = False,
    device: DeviceOption = "cpu",
) -> None:
    """Train a Model-SAT router for a zoo and write it to OUT; a router with an accuracy readout then chooses how
    to read cards on its validation split (`modelsat readout choose`)."""
    from accelerate import PartialState

    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.aptitude.unified import aptitude_file
    from modelsat.data.importers.all_zoos import rows_of_zoos
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import parse_models, resolve_zoo
    from modelsat.router.config import load_config, preset_names
    from modelsat.router.training.train import train_router

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    is_file = config not in preset_names()
    cfg = load_config(None if is_file else config, Path(config) if is_file else None, overrides or [])
    table = read_outcomes(outcomes)
    trained_zoos = parse_models(zoos) if zoos else None
    answering = rows_of_zoos(table, trained_zoos, outcomes) if trained_zoos else table
    chosen = resolve_zoo(answering["model"].unique(), zoo=zoo, models=models)
    left_out = parse_models(holdout) if holdout else []
    chosen = [m for m in chosen if m not in left_out]
    main_process = PartialState(cpu=device == "cpu").is_main_process  # one line per run under `accelerate launch`
    if main_process:
        err.print(f"training on {len(chosen)} models: {', '.join(chosen)}")
    test = AptitudeSet.load(aptitude_file(aptitude)) if aptitude is not None else None
    if test is not None and trained_zoos:
        trained_test = test.of_zoos(trained_zoos)
        left = [t.name for t in test.tasks if t not in trained_test.tasks]
        if left and main_process:
            err.print(
                f"[yellow]note: {len(left)} core task(s) no trained zoo asks left out of training "
                f"({', '.join(left)}); `modelsat aptitude extend` adds them to the trained router[/]",
                soft_wrap=True,
            )
        test = trained_test
    result = train_router(
        table, chosen, cfg, out, resume=resume, device=device, aptitude=test, new_models=left_out, zoos=trained_zoos
    )
    if main_process:
        err.print(
            f"router written to {result.router_dir} (best validation {cfg.train.select_by} "
            f"{result.best_val_score:.4f}, {result.seconds / 60:.1f} min)"
        )
        if cfg.router.accuracy_readout:
            from modelsat.cli.readout import store_and_render
            from modelsat.router.routing.readout_choice import choose_readout

            store_and_render(choose_readout(result.router_dir, table), result.router_dir)


def register(app: typer.Typer) -> None:
    """Add `train` to `app`."""
    app.command("train")(train)
