"""`modelsat import SOURCE PATH -o outcomes.parquet`: bring benchmark results into the outcomes table.

An existing `-o` file is appended to; (model, query_id) pairs already there are refused unless
`--replace`. A failing import leaves the file untouched.

Example:
    $ modelsat import mmlu-pro ../shared/data/mmlu-pro -o outcomes.parquet
    $ modelsat import all ../shared/data -o out/all.parquet
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from modelsat.data import questions, schema
from modelsat.data.importers import (
    ImportResult,
    all_zoos,
    alpaca_eval,
    lm_eval,
    mmlu_pro,
    routerbench,
    routerdc,
    table,
)
from modelsat.data.routerdc_scoring import refuse_stale_routerdc
from modelsat.data.zoos import parse_models

err = Console(stderr=True, soft_wrap=True)
import_app = typer.Typer(help="Import benchmark results into an outcomes Parquet table.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("-o", "--out", help="Outcomes Parquet file (appended to if it exists).")]
ReplaceOption = Annotated[bool, typer.Option("--replace", help="Overwrite (model, query_id) pairs already present.")]


def store(result: ImportResult, out: Path, replace: bool) -> None:
    """Report skipped records, merge into `out` and write it atomically."""
    for file, reasons in result.skipped.items():
        for reason, count in reasons.items():
            err.print(f"[yellow]skipped {count:,} record(s) in {escape(file)}: {escape(reason)}[/]")
    for note in result.notes:
        err.print(f"[yellow]note: {escape(note)}[/]")
    existing = schema.read_outcomes(out, refuse_stale=not replace) if out.exists() else None
    merged = schema.merge_outcomes(existing, result.outcomes, replace=replace)
    refuse_stale_routerdc(merged, str(out))
    schema.write_outcomes(merged, out)
    n_models = result.outcomes["model"].nunique()
    err.print(
        f"imported {len(result.outcomes):,} outcomes of {n_models} model(s), skipped {result.n_skipped:,}; "
        f"{escape(str(out))} now holds {len(merged):,} rows"
    )


@import_app.command("mmlu-pro")
def import_mmlu_pro(directory: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import MMLU-Pro `model_outputs_<model>_5shots.zip` files from DIRECTORY."""
    store(mmlu_pro.load(directory), out, replace)


@import_app.command("routerbench")
def import_routerbench(directory: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import RouterBench CSVs (a 0/1 column and a `<model>|total_cost` column per model) from DIRECTORY."""
    store(routerbench.load(directory), out, replace)


@import_app.command("routerdc")
def import_routerdc(directory: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import the RouterDC paper's `{question, scores}` JSON files (7 models, own train/test split) from DIRECTORY."""
    store(routerdc.load(directory), out, replace)


@import_app.command("alpaca-eval")
def import_alpaca_eval(path: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import AlpacaEval judgements (score = preference − 1) from its `results/` folder or a zip of it (PATH)."""
    store(alpaca_eval.load(path), out, replace)


@import_app.command("all")
def import_all(directory: Path, out: OutOption, replace: ReplaceOption = False) -> None:
    """Import every zoo of the data folder DIRECTORY (MMLU-Pro, RouterDC, RouterBench, AlpacaEval) as one table,
    each query with its kind of request and the questions zoos share noted (docs/data.md)."""
    result = all_zoos.load(directory)
    result.notes.append(questions.shared_note(result.outcomes))
    store(result, out, replace)


@import_app.command("table")
def import_table(
    file: Path,
    out: OutOption,
    models: Annotated[
        str | None, typer.Option("--models", help="Wide tables: comma-separated model columns (default: numeric ones).")
    ] = None,
    replace: ReplaceOption = False,
) -> None:
    """Import a long or wide CSV / JSONL / Parquet FILE (see docs/data.md for the formats)."""
    store(table.load(file, parse_models(models) if models else None), out, replace)


@import_app.command("lm-eval")
def import_lm_eval(
    directory: Path,
    out: OutOption,
    model: Annotated[str | None, typer.Option("--model", help="Model name (default: from results_*.json).")] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Per-sample metric used as score (default: acc, exact_match, ...).")
    ] = None,
    replace: ReplaceOption = False,
) -> None:
    """Import lm-evaluation-harness `--log_samples` output (samples_<task>_<timestamp>.jsonl) from DIRECTORY."""
    store(lm_eval.load(directory, model=model, metric=metric), out, replace)


def register(app: typer.Typer) -> None:
    """Add the `import` group to `app`."""
    app.add_typer(import_app, name="import")
