"""`modelsat plot` commands: pictures of modelsat artefacts.

Example:
    $ modelsat plot cards --cards cards.json -o cards.png
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)
plot_app = typer.Typer(help="Draw modelsat artefacts as PNG figures.", no_args_is_help=True)


@plot_app.command("cards")
def cards(
    cards_file: Annotated[Path, typer.Option("--cards", help="Cards file (modelsat profile).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="PNG file to write.")],
) -> None:
    """Heatmap of models × core tasks, rows sorted by mean accuracy."""
    from modelsat.aptitude.cards import load_cards
    from modelsat.aptitude.heatmap import plot_cards

    loaded = load_cards(cards_file)
    plot_cards(loaded, out)
    err.print(f"{len(loaded)} card(s) -> {out}")


def register(app: typer.Typer) -> None:
    """Add the `plot` group to `app`."""
    app.add_typer(plot_app, name="plot")
