"""`modelsat calibrate`: fit a router's P(Yes) calibration on validation outcomes (router/calibration.py).

Example:
    $ modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelsat.cli.options import ModelsOption, RouterOption

err = Console(stderr=True)


def calibrate(
    router: RouterOption,
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table holding the validation split.")],
    models: ModelsOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Fit on a seeded sample of N validation queries.")
    ] = None,
) -> None:
    """Fit P(Yes) = sigmoid(a·log-odds + b) on the validation queries of the router's training zoo.

    Writes ROUTER/calibration.json; `route`, `serve` and `evaluate` then use calibrated probabilities.
    The candidates' ranking for quality-only routing does not change.
    """
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import check_models, parse_models
    from modelsat.router.artifact import read_router_config
    from modelsat.router.calibration import CALIBRATION_FILE, fit_calibration
    from modelsat.router.service import load_router
    from modelsat.router.training_data import ScoreMatrix

    _, meta = read_router_config(router)
    table = read_outcomes(outcomes)
    zoo = check_models(parse_models(models) if models else meta.get("zoo", []), table["model"].unique())
    aptitude = AptitudeSet.load(router / "aptitude.json")
    matrix = ScoreMatrix.from_outcomes(table, zoo, "validation", exclude=aptitude.query_ids)
    if limit is not None:
        matrix = matrix.subset(limit, seed=0)
    service = load_router(router, calibrated=False)
    err.print(f"scoring {len(matrix.prompts)} validation queries × {len(zoo)} models")
    calibration = fit_calibration(service.score_instructions(matrix.prompts, zoo), matrix.scores)
    calibration.save(router / CALIBRATION_FILE)
    typer.echo(
        f"{router / CALIBRATION_FILE}: P(Yes) = sigmoid({calibration.scale:.4f} · log-odds {calibration.bias:+.4f}); "
        f"validation log-loss {calibration.log_loss_raw:.4f} → {calibration.log_loss_calibrated:.4f} "
        f"on {calibration.n_queries} queries"
    )


def register(app: typer.Typer) -> None:
    """Add `calibrate` to `app`."""
    app.command("calibrate")(calibrate)
