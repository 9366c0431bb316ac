"""Entry point of the `modelsat` command; turns `ModelsatError` into `Error: ...` and exit code 1.

Example:
    $ modelsat import mmlu-pro ../shared/data/mmlu-pro -o outcomes.parquet
"""

import sys

import typer

from modelsat.cli import calibrate, data, evaluate, importing, plot, profile, readout, route, serve, train
from modelsat.errors import ConfigError, ModelsatError

app = typer.Typer(
    name="modelsat",
    help="Route each instruction to the LLM most likely to answer it well (Model-SAT).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (importing, data, profile, plot, train, calibrate, readout, route, evaluate, serve):
    module.register(app)


def main() -> None:
    """Run the CLI; user errors print one line on stderr, no traceback."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except ModelsatError as exc:
        if debug:
            raise
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)


if __name__ == "__main__":
    main()
