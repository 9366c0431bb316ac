"""`modelsat calibrate`: fit a router's P(Yes) calibration on validation outcomes (router/routing/calibration.py).

Example:
    $ modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet
    $ modelsat calibrate --router routers/default --outcomes out/all.parquet --mode full
    $ modelsat calibrate --router routers/routerbench --outcomes out/routerbench.parquet --targets
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from modelsat.cli.options import ModelsOption, ModeOption, RouterOption

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from modelsat.router.routing.folder import RouterFolder
    from modelsat.router.routing.service import RoutingService

err = Console(stderr=True)


def calibrate(
    router: RouterOption,
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table holding the validation split.")],
    models: ModelsOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Fit on a seeded sample of N validation queries.")
    ] = None,
    mode: ModeOption = None,
    targets: Annotated[
        bool,
        typer.Option(
            "--targets",
            help="Instead: calibrate quality / budget / strong_share targets into λ (docs/cost.md#targets) with the "
            "router's calibrated P(Yes); writes ROUTER/targets.json (targets-fast.json in fast mode).",
        ),
    ] = False,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="With --targets: prices YAML; default: the outcomes' costs.")
    ] = None,
) -> None:
    """Fit P(Yes) = sigmoid(a·log-odds + b) on the validation queries of the router's training zoo (a router trained
    on several zoos: each zoo's queries among its own models), plus a level per aptitude task (the one each request
    is nearest) when that predicts held-out validation queries better.

    Writes ROUTER/calibration.json (--mode full) or ROUTER/calibration-fast.json (--mode fast); `route`, `serve`
    and `evaluate` then use calibrated probabilities in that mode. The candidates' ranking for quality-only routing
    does not change. With --targets, sweeps λ on the same queries instead and prints what each target costs.
    """
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import check_models, parse_models
    from modelsat.errors import ConfigError
    from modelsat.router.routing.calibration import calibration_file, fit_calibration_by_zoo
    from modelsat.router.routing.folder import RouterFolder
    from modelsat.router.routing.service import load_router
    from modelsat.router.training.training_data import zoo_matrices

    folder = RouterFolder.read(router, calibrations=targets)  # targets read calibrated P(Yes); a calibration fits raw
    table = read_outcomes(outcomes)
    zoo = check_models(parse_models(models) if models else folder.meta.get("zoo", []), table["model"].unique())
    matrices = zoo_matrices(table, zoo, "validation", folder.aptitude.query_ids, folder.meta.get("zoos"))
    if limit is not None:
        matrices = {name: matrix.subset(limit, seed=0) for name, matrix in matrices.items()}
    if targets:
        if len(matrices) > 1:
            raise ConfigError(
                f"--targets trades accuracy against cost within one zoo; name its models (--models) "
                f"of one of {', '.join(matrices)}"
            )
        (matrix,) = matrices.values()
        _targets(folder, table, matrix, matrix.models, prices, mode)
        return
    service = load_router(folder, calibrated=False, mode=mode)
    target = router / calibration_file(service.mode)
    n_queries = sum(len(m.prompts) for m in matrices.values())
    err.print(
        f"scoring {n_queries} validation queries × {len(zoo)} models"
        + (f" (each among its zoo's: {', '.join(matrices)})" if len(matrices) > 1 else "")
    )
    if service.prototypes is None:
        service.prototypes = _save_prototypes(service, table, folder)
    scored = [service.scores_and_tasks(m.prompts, m.models) for m in matrices.values()]
    calibration = fit_calibration_by_zoo(
        [(log_odds, m.scores) for (log_odds, _), m in zip(scored, matrices.values(), strict=True)],
        [tasks for _, tasks in scored],
    )  # as training fits it, with a level per task where it helps
    calibration.save(target)
    levels = (
        f" + the level of the request's aptitude task ({len(calibration.task_bias)} tasks)"
        if calibration.task_bias
        else " (levels per aptitude task did not predict held-out validation queries better)"
    )
    typer.echo(
        f"{target}: P(Yes) = sigmoid({calibration.scale:.4f} · log-odds {calibration.bias:+.4f}{levels}); "
        f"validation log-loss {calibration.log_loss_raw:.4f} → {calibration.log_loss_calibrated:.4f} "
        f"on {calibration.n_queries} queries"
    )


def _save_prototypes(
    service: "RoutingService", table: "pd.DataFrame", folder: "RouterFolder"
) -> dict[str, "torch.Tensor"]:
    """The router's task prototypes, written to its folder (the calibration's task levels are keyed by them)."""
    from modelsat.router.routing.prototypes import PROTOTYPES_FILE, aptitude_prototypes, save_prototypes

    prototypes = aptitude_prototypes(service.scorer.embed_texts, folder.aptitude, table, service.reader)
    save_prototypes(prototypes, folder.path / PROTOTYPES_FILE)
    return prototypes


def _targets(folder: "RouterFolder", table, matrix, zoo: list[str], prices: Path | None, mode: str | None) -> None:
    """Sweep λ on the validation queries with the calibrated router; save and print the targets."""
    import pandas as pd

    from modelsat.cost.matrix import cost_matrix
    from modelsat.cost.policy import as_utility
    from modelsat.cost.prices import load_prices
    from modelsat.cost.targets import fit_curve, targets_file
    from modelsat.router.routing.service import load_router

    service = load_router(folder, mode=mode)
    queries = pd.DataFrame({"query_id": matrix.query_ids, "prompt": matrix.prompts})
    rows = table[table["query_id"].isin(set(matrix.query_ids)) & table["model"].isin(zoo)]
    cost = cost_matrix(rows, queries, zoo, load_prices(prices) if prices else None)
    err.print(f"scoring {len(matrix.prompts)} validation queries × {len(zoo)} models")
    curve = fit_curve(as_utility(service.score_instructions(matrix.prompts, zoo)), cost, matrix.scores, zoo)
    path = folder.path / targets_file(service.mode)
    curve.save(path)
    typer.echo(render_targets(curve, path))


def render_targets(curve, path: Path) -> str:
    """The standard targets of a curve as lines of text."""
    from modelsat.cost.targets import PAIR_TARGETS, STANDARD_TARGETS, Target

    names = STANDARD_TARGETS + (PAIR_TARGETS if len(curve.models) == 2 else ())
    lines = [
        f"{path}: {curve.n_queries} validation queries; strongest {curve.strongest} "
        f"({curve.strongest_accuracy:.1%}, {curve.strongest_cost:.4g} USD per query)",
        f"{'target':<18} {'lambda':>10} {'or':>20} {'accuracy':>9} {'cost (USD)':>11} {'strong':>7}  promise",
    ]
    for name in names:
        choice = curve.resolve(Target.parse(name))
        note = "" if choice.reachable else "  (not reached: nearest)"
        mix = f"{choice.lam_alt:.4g} for {choice.share_alt:.0%}" if choice.share_alt > 0 else "–"
        lines.append(
            f"{name:<18} {choice.lam:>10.4g} {mix:>20} {choice.expected_accuracy:>9.2%} {choice.expected_cost:>11.4g} "
            f"{choice.strong_share:>7.0%}  {choice.promise}{note}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `calibrate` to `app`."""
    app.command("calibrate")(calibrate)
