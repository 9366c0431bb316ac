"""`modelsat import SOURCE PATH -o outcomes.parquet`: bring benchmark results into the outcomes table.

Example:
    $ modelsat import mmlu-pro ../shared/data/mmlu-pro -o outcomes.parquet
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelsat.data import schema
from modelsat.data.importers import ImportResult, mmlu_pro

err = Console(stderr=True)
import_app = typer.Typer(help="Import benchmark results into an outcomes Parquet table.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("-o", "--out", help="Outcomes Parquet file (appended to if it exists).")]
ReplaceOption = Annotated[bool, typer.Option("--replace", help="Overwrite (model, query_id) pairs already present.")]


def store(result: ImportResult, out: Path, replace: bool) -> None:
    """Report skipped records, merge into `out` and write it atomically."""
    for file, reasons in result.skipped.items():
        for reason, count in reasons.items():
            err.print(f"[yellow]skipped {count} record(s) in {file}: {reason}[/]")
    existing = schema.read_outcomes(out) if out.exists() else None
    merged = schema.merge_outcomes(existing, result.outcomes, replace=replace)
    schema.write_outcomes(merged, out)
    n_models = result.outcomes["model"].nunique()
    err.print(
        f"imported {len(result.outcomes):,} outcomes of {n_models} model(s), skipped {result.n_skipped}; "
        f"{out} now holds {len(merged):,} rows"
    )


@import_app.command("mmlu-pro")
def import_mmlu_pro(directory: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import MMLU-Pro `model_outputs_<model>_5shots.zip` files from DIRECTORY."""
    store(mmlu_pro.load(directory), out, replace)


def register(app: typer.Typer) -> None:
    """Add the `import` group to `app`."""
    app.add_typer(import_app, name="import")
