"""`modelsat data info FILE`: what an outcomes table holds (models, accuracy, tasks, splits).

Example:
    $ modelsat data info outcomes.parquet --zoo small-5 --json
"""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from modelsat.data.info import summarize
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import resolve_zoo

data_app = typer.Typer(help="Inspect outcomes tables.", no_args_is_help=True)
TOP_TASKS = 10


def render(summary: dict, file: Path, console: Console) -> None:
    """Print `summary` as rich tables."""
    console.print(
        f"[bold]{escape(str(file))}[/]: {summary['n_rows']:,} rows, {summary['n_models']} models, "
        f"{summary['n_queries']:,} queries, {summary['n_tasks']} tasks"
    )
    models = Table("model", "queries", "accuracy", "mean cost (USD)", title="Models")
    for name, row in summary["models"].items():
        cost = "-" if row["mean_cost"] is None else f"{row['mean_cost']:.6f}"
        models.add_row(escape(name), f"{row['queries']:,}", f"{row['accuracy']:.4f}", cost)
    console.print(models)
    queries = Table("group", "queries", title="Queries by split and domain")
    for name, n in [*summary["splits"].items(), *summary["domains"].items()]:
        queries.add_row(name, f"{n:,}")
    console.print(queries)
    tasks = sorted(summary["tasks"].items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{escape(task)} ({n:,})" for task, n in tasks[:TOP_TASKS])
    more = f", … {len(tasks) - TOP_TASKS} more" if len(tasks) > TOP_TASKS else ""
    console.print(f"tasks by size: {shown}{more}")
    if summary["score_meaning"]:
        meaning = Table("task", "a score of 1 means …", title="What a score means (RouterDC's tasks)")
        for task, text in summary["score_meaning"].items():
            meaning.add_row(escape(task), escape(text))
        console.print(meaning)


@data_app.command("info")
def info(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")] = False,
    zoo: Annotated[str | None, typer.Option("--zoo", help="Only this named zoo (e.g. small-5, chat).")] = None,
    models: Annotated[str | None, typer.Option("--models", help="Only these comma-separated models.")] = None,
) -> None:
    """Models, queries and accuracy per model, tasks and split sizes of an outcomes FILE."""
    outcomes = read_outcomes(file)
    chosen = resolve_zoo(outcomes["model"].unique(), zoo=zoo, models=models)
    summary = summarize(outcomes, chosen)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **summary}, indent=2))
    else:
        render(summary, file, Console(soft_wrap=True))


def register(app: typer.Typer) -> None:
    """Add the `data` group to `app`."""
    app.add_typer(data_app, name="data")
