"""`modelsat profile` (capability cards) and `modelsat aptitude select` (the aptitude test).

Example:
    $ modelsat aptitude select --outcomes outcomes.parquet --zoo small -o aptitude.json
    $ modelsat aptitude select --outcomes routerbench.parquet --zoo all --tasks 20 --per-task 10 -o aptitude.json
    $ modelsat profile --outcomes outcomes.parquet --aptitude aptitude.json -o cards.json --facts zoo.yaml
    $ modelsat profile --outcomes outcomes.parquet --aptitude aptitude.json -o cards.json \\
        --live hf:smollm2 --outcomes-out smollm2.parquet
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from modelsat.aptitude.cards import CLAUSE_TEMPLATE
from modelsat.errors import ConfigError

if TYPE_CHECKING:
    from modelsat.aptitude.live.runner import LiveResult

err = Console(stderr=True)
aptitude_app = typer.Typer(help="Choose the aptitude test every candidate model takes.", no_args_is_help=True)

OutcomesOption = Annotated[Path, typer.Option("--outcomes", help="Outcomes Parquet table (modelsat import ...).")]
OutOption = Annotated[Path, typer.Option("-o", "--out", help="Output file.")]
ModelsOption = Annotated[str | None, typer.Option("--models", help="Comma-separated model names.")]


@aptitude_app.command("select")
def select(
    outcomes: OutcomesOption,
    out: OutOption,
    zoo: Annotated[str | None, typer.Option("--zoo", help="Named training zoo (e.g. small-5, chat).")] = None,
    models: ModelsOption = None,
    tasks: Annotated[int, typer.Option("--tasks", help="Number of core tasks (MMLU subjects or clusters).")] = 50,
    per_task: Annotated[int, typer.Option("--per-task", help="Questions per core task.")] = 20,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of k-means and of ties between equally discriminative questions.")
    ] = 0,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="mmlu (subjects), clusters (of the zoo's train queries), tasks (the outcomes' own tasks, clustered "
            "within) or auto (mmlu when present, else clusters).",
        ),
    ] = "auto",
    sampling: Annotated[
        str,
        typer.Option(
            "--sampling",
            help="representative (a uniform sample of the questions the zoo splits on) or discriminative (p≈½).",
        ),
    ] = "representative",
    other_tasks: Annotated[
        bool,
        typer.Option("--other-tasks", help="Also a core task per non-MMLU task (MMLU-Pro's own problem categories)."),
    ] = False,
) -> None:
    """Select the core tasks and their questions on the training zoo (docs/aptitude.md)."""
    from modelsat.aptitude.selection import select_aptitude_set
    from modelsat.data.schema import read_outcomes
    from modelsat.data.zoos import resolve_zoo

    table = read_outcomes(outcomes)
    chosen = resolve_zoo(table["model"].unique(), zoo=zoo, models=models)
    aptitude = select_aptitude_set(
        table,
        chosen,
        n_tasks=tasks,
        n_per_task=per_task,
        seed=seed,
        method=method,
        sampling=sampling,
        other_tasks=other_tasks,
    )
    aptitude.save(out)
    err.print(f"{len(aptitude.tasks)} core tasks × {per_task} questions on {len(chosen)} model(s) -> {out}")


def profile(
    outcomes: OutcomesOption,
    out: OutOption,
    router: Annotated[Path | None, typer.Option("--router", help="Router folder; uses its aptitude.json.")] = None,
    aptitude: Annotated[Path | None, typer.Option("--aptitude", help="Aptitude set file (aptitude select).")] = None,
    models: ModelsOption = None,
    facts: Annotated[Path | None, typer.Option("--facts", help="Zoo YAML with expert facts per model.")] = None,
    template: Annotated[str, typer.Option("--template", help="Clause template: {accuracy}, {description}, {task}.")] = (
        CLAUSE_TEMPLATE
    ),
    live: Annotated[
        str | None, typer.Option("--live", help="Run the test: hf:PATH_OR_ID (hf:smollm2) or openai:BASE_URL#MODEL.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name of a live run (default: from --live).")] = None,
    outcomes_out: Annotated[Path | None, typer.Option("--outcomes-out", help="Add live answers to this table.")] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", help="Resumable answer log (default next to -o).")
    ] = None,
    rotations: Annotated[int, typer.Option("--rotations", help="Circle-test rotations (1 = no circle test).")] = 2,
    tasks_limit: Annotated[int | None, typer.Option("--tasks-limit", help="Only the first N core tasks.")] = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env", help="Env var holding the API key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option("--concurrency", help="Parallel endpoint requests.")] = 8,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Prompts per local forward pass.")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per endpoint request.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a live run's summary as JSON on stdout.")] = False,
) -> None:
    """Write capability cards from recorded outcomes, or (--live) by giving a real model the aptitude test."""
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.aptitude.cards import build_cards, check_template, merge_cards, save_cards
    from modelsat.aptitude.facts import load_facts
    from modelsat.data.schema import merge_outcomes, read_outcomes, write_outcomes
    from modelsat.data.zoos import check_models, parse_models

    if (router is None) == (aptitude is None):
        raise ConfigError("give exactly one of --router DIR or --aptitude FILE")
    test = AptitudeSet.load(router / "aptitude.json" if router else aptitude).first_tasks(tasks_limit)
    table = read_outcomes(outcomes)
    expert = load_facts(facts) if facts else None
    check_template(template)
    if live:
        if models:
            raise ConfigError("--models lists recorded models; a --live run profiles one model, named by --name")
        from modelsat.aptitude.live.answer_log import AnswerLog
        from modelsat.aptitude.live.runner import default_name, open_answerer, profile_live

        answerer = open_answerer(
            live, api_key_env=api_key_env, batch_size=batch_size, concurrency=concurrency, timeout=timeout
        )
        name = name or default_name(live)
        log = AnswerLog(answers or out.with_name(f"{out.stem}.{name}.answers.jsonl"), name)
        result = profile_live(answerer, table, test, log, name, rotations, facts=expert, template=template)
        merge_cards({name: result.card}, out)
        if outcomes_out:
            previous = read_outcomes(outcomes_out) if outcomes_out.exists() else None
            write_outcomes(merge_outcomes(previous, result.outcomes, replace=True), outcomes_out)
        _report_live(name, result, log.path, as_json)
        return
    chosen = check_models(parse_models(models), table["model"].unique()) if models else sorted(table["model"].unique())
    save_cards(build_cards(table, test, chosen, facts=expert, template=template), out)
    err.print(f"{len(chosen)} card(s) on {len(test.tasks)} core tasks -> {out}")


def _report_live(name: str, result: "LiveResult", log: Path, as_json: bool) -> None:
    """Summarise a live run on stderr, or as one JSON document on stdout."""
    summary = {
        "model": name,
        "questions": len(result.outcomes),
        "asked": result.asked,
        "seconds": round(result.seconds, 2),
        "seconds_per_question": round(result.seconds_per_question, 3),
        "accuracy_plain": result.accuracy_plain,
        "accuracy_circle": result.accuracy_circle,
        "malformed": result.malformed,
        "answers": str(log),
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    err.print(
        f"{name}: {summary['questions']} questions ({result.asked} prompts asked now, "
        f"{summary['seconds_per_question']} s/question); accuracy {result.accuracy_plain:.1%} plain, "
        f"{result.accuracy_circle:.1%} with the circle test; {result.malformed} malformed; answers in {log}"
    )


def register(app: typer.Typer) -> None:
    """Add `profile` and the `aptitude` group to `app`."""
    app.command("profile")(profile)
    app.add_typer(aptitude_app, name="aptitude")
