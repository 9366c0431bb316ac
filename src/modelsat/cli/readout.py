"""`modelsat readout choose|show`: the readout a router routes with, chosen on its validation split
(router/routing/readout_choice.py).

Example:
    $ modelsat readout choose --router routers/specialists --outcomes out/specialists.parquet
    $ modelsat readout show --router routers/specialists
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from modelsat.cli.options import RouterOption

if TYPE_CHECKING:
    from modelsat.router.routing.readout_choice import ReadoutChoice

readout_app = typer.Typer(help="Choose and show the accuracy readout a router routes with.", no_args_is_help=True)


def render(choice: "ReadoutChoice", router: Path) -> None:
    """The chosen readout and every candidate's validation figures."""
    from modelsat.router.routing.readout_choice import significance_threshold

    zoos = list(next(iter(choice.validation_by_zoo.values()), {}))
    caption = (
        f"another readout replaces the trained one only with a gain above "
        f"{significance_threshold(len(choice.validation) - 1):.2f} standard errors"
    )
    if zoos:
        caption += (
            "; several zoos: each query routed among every zoo's models (another zoo's model: a wrong answer), and of"
            " the significant gains the readout whose worst zoo gains most among that zoo's own models is kept"
        )
    columns = ["readout", "validation accuracy (%)", "± standard error of its gain", *(f"{z} (%)" for z in zoos)]
    table = Table(*columns, caption=caption, title=f"{router}: readouts on the validation split")
    for label, figure in choice.validation.items():
        chosen = " (chosen)" if label == choice.label else ""
        error = choice.standard_error.get(label)
        own = [f"{choice.validation_by_zoo[label][z]:.2f}" for z in zoos]
        table.add_row(f"{label}{chosen}", f"{figure:.2f}", "–" if error is None else f"{error:.2f}", *own)
    Console(soft_wrap=True).print(table)


def store_and_render(choice: "ReadoutChoice", router: Path) -> None:
    """Store `choice` with the router and print it, naming the calibrations it made stale."""
    from modelsat.router.routing.readout_choice import store_choice

    removed = store_choice(choice, router)
    render(choice, router)
    if removed:
        Console(stderr=True).print(
            f"removed {', '.join(removed)} (fitted to the trained readout's scores): refit with `modelsat calibrate`"
        )


@readout_app.command("choose")
def choose(
    router: RouterOption,
    outcomes: Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table holding the validation split.")],
) -> None:
    """Score every candidate readout in fast mode on the validation queries of the router's training zoo and store
    in ROUTER/readout.safetensors the trained one, or one whose gain over it is significant; `route`, `evaluate`
    and `serve` then read cards that way, in both modes."""
    from modelsat.data.schema import read_outcomes
    from modelsat.router.routing.readout_choice import choose_readout

    store_and_render(choose_readout(router, read_outcomes(outcomes)), router)


@readout_app.command("show")
def show(router: RouterOption) -> None:
    """The readout ROUTER routes with and the validation figures it was chosen on."""
    from modelsat.router.routing.readout_choice import load_readout_choice

    choice = load_readout_choice(router)
    if choice is None:
        typer.echo(f"{router}: routes with its readout as trained (no readout choice stored)")
        return
    render(choice, router)


def register(app: typer.Typer) -> None:
    """Add the `readout` group to `app`."""
    app.add_typer(readout_app, name="readout")
