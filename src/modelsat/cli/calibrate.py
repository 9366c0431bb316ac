"""`modelsat calibrate`: fit a router's P(Yes) calibration on validation outcomes (router/routing/calibration.py).

Example:
    $ modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet
    $ modelsat calibrate --router routers/default --outcomes out/mmlu.parquet --mode full
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelsat.cli.options import ModelsOption, ModeOption, RouterOption

err = Console(stderr=True)


def calibrate(
    router: RouterOption,
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table holding the validation split.")],
    models: ModelsOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Fit on a seeded sample of N validation queries.")
    ] = None,
    mode: ModeOption = None,
) -> None:
    """Fit P(Yes) = sigmoid(a·log-odds + b) on the validation queries of the router's training zoo.

    Writes ROUTER/calibration.json (--mode full) or ROUTER/calibration-fast.json (--mode fast); `route`, `serve`
    and `evaluate` then use calibrated probabilities in that mode. The candidates' ranking for quality-only routing
    does not change.
    """
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import check_models, parse_models
    from modelsat.router.routing.calibration import calibration_file, fit_calibration
    from modelsat.router.routing.folder import read_router_config
    from modelsat.router.routing.service import load_router
    from modelsat.router.training.training_data import ScoreMatrix

    _, meta = read_router_config(router)
    table = read_outcomes(outcomes)
    zoo = check_models(parse_models(models) if models else meta.get("zoo", []), table["model"].unique())
    aptitude = AptitudeSet.load(router / "aptitude.json")
    matrix = ScoreMatrix.from_outcomes(table, zoo, "validation", exclude=aptitude.query_ids)
    if limit is not None:
        matrix = matrix.subset(limit, seed=0)
    service = load_router(router, calibrated=False, mode=mode)
    target = router / calibration_file(service.mode)
    err.print(f"scoring {len(matrix.prompts)} validation queries × {len(zoo)} models")
    calibration = fit_calibration(service.score_instructions(matrix.prompts, zoo), matrix.scores)
    calibration.save(target)
    typer.echo(
        f"{target}: P(Yes) = sigmoid({calibration.scale:.4f} · log-odds {calibration.bias:+.4f}); "
        f"validation log-loss {calibration.log_loss_raw:.4f} → {calibration.log_loss_calibrated:.4f} "
        f"on {calibration.n_queries} queries"
    )


def register(app: typer.Typer) -> None:
    """Add `calibrate` to `app`."""
    app.command("calibrate")(calibrate)
