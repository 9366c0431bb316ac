"""`modelsat profile` (capability cards) and `modelsat aptitude select | unified | extend` (the aptitude test).

Example:
    $ modelsat aptitude select --outcomes outcomes.parquet --zoo small -o aptitude.json
    $ modelsat aptitude select --outcomes routerbench.parquet --zoo all --tasks 20 --per-task 10 -o aptitude.json
    $ modelsat aptitude extend --router routers/default --aptitude unified --outcomes out/all.parquet
    $ modelsat profile --outcomes outcomes.parquet --aptitude aptitude.json -o cards.json --facts zoo.yaml
    $ modelsat profile --outcomes outcomes.parquet --aptitude aptitude.json -o cards.json \\
        --live hf:smollm2 --outcomes-out smollm2.parquet
    $ modelsat profile --outcomes mixed.parquet --aptitude aptitude.json -o cards.json --dry-run \\
        --live 'openai:https://api.example.com/v1#new-model' --judge 'openai:http://localhost:8000/v1#judge'
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from modelsat.aptitude.cards import CLAUSE_TEMPLATE
from modelsat.errors import ConfigError

if TYPE_CHECKING:
    from modelsat.aptitude.live.plan import Estimate, TestPlan
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


@aptitude_app.command("unified")
def unified(
    outcomes: OutcomesOption,
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Output file (the shipped one: src/modelsat/aptitude/unified.json).")
    ],
    per_task: Annotated[int, typer.Option("--per-task", help="Questions per core task.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of k-means and of the questions drawn.")] = 0,
) -> None:
    """One aptitude test for every kind of request, from the train split of every zoo of an `import all` table."""
    from modelsat.aptitude.live.graders.references import ReferenceBook
    from modelsat.aptitude.live.plan import GraderSet
    from modelsat.aptitude.unified import unified_aptitude_set
    from modelsat.data.locate import data_dir
    from modelsat.data.schema import read_outcomes

    graders = GraderSet(references=ReferenceBook(data_dir()))
    aptitude, notes = unified_aptitude_set(read_outcomes(outcomes), graders, per_task=per_task, seed=seed)
    aptitude.save(out)
    for note in notes:
        err.print(f"[yellow]note: {note}[/]", soft_wrap=True)
    kinds = {t.kind: sum(u.kind == t.kind for u in aptitude.tasks) for t in aptitude.tasks}
    err.print(
        f"{len(aptitude.tasks)} core tasks × {per_task} questions ({', '.join(f'{k} {n}' for k, n in kinds.items())}) "
        f"on {len(aptitude.zoo)} model(s) -> {out}",
        soft_wrap=True,
    )


@aptitude_app.command("extend")
def extend(
    router: Annotated[Path, typer.Option("--router", help="Router directory to grow, in place.")],
    aptitude: Annotated[
        Path, typer.Option("--aptitude", help="The grown test: a file, or `unified` for the shipped one.")
    ],
    outcomes: OutcomesOption,
) -> None:
    """Add the core tasks a test has beyond the router's own to a trained router, without retraining: their
    prototypes, every card's entries on them, and a card for each model with results there (docs/aptitude.md)."""
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.aptitude.unified import aptitude_file
    from modelsat.data.schema import read_outcomes
    from modelsat.router.routing.extend import extend_router

    grown = extend_router(router, AptitudeSet.load(aptitude_file(aptitude)), read_outcomes(outcomes))
    added = f"{len(grown.added)} core task(s) added ({', '.join(grown.added)})" if grown.added else "no task to add"
    joined = f"; {len(grown.new_models)} model(s) with a first card: {', '.join(grown.new_models)}"
    err.print(
        f"{router}: {added}; {grown.cards} cards on test {grown.fingerprint}{joined if grown.new_models else ''}",
        soft_wrap=True,
    )


def profile(
    outcomes: OutcomesOption,
    out: OutOption,
    router: Annotated[Path | None, typer.Option("--router", help="Router folder; uses its aptitude.json.")] = None,
    aptitude: Annotated[
        Path | None,
        typer.Option(
            "--aptitude", help="Aptitude set file (aptitude select), or `unified` for the shipped unified test."
        ),
    ] = None,
    kinds: Annotated[
        str | None,
        typer.Option(
            "--kinds",
            help="Only the core tasks of these kinds of request, e.g. knowledge,code (a test with "
            "kinds: aptitude unified).",
        ),
    ] = None,
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
    questions_limit: Annotated[
        int | None,
        typer.Option(
            "--questions-limit",
            min=1,
            help="Ask only the first N gradable questions of each core task: a quick card on the same test, which "
            "the router accepts, its accuracies estimated from N questions.",
        ),
    ] = None,
    api_key_env: Annotated[str, typer.Option("--api-key-env", help="Env var holding the API key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option("--concurrency", help="Parallel endpoint requests.")] = 8,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Prompts per local forward pass.")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per endpoint request.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a live run's summary as JSON on stdout.")] = False,
    judge: Annotated[
        str | None,
        typer.Option("--judge", help="Judge of open-ended answers: openai:BASE_URL#MODEL or hf:PATH_OR_ID."),
    ] = None,
    grader: Annotated[
        list[str] | None,
        typer.Option("--grader", help="Grade task labels matching PATTERN with KIND: 'PATTERN=KIND' (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the calls and tokens the live test would take, then stop.")
    ] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Cap on each free-form reply (math, code, open-ended).")
    ] = None,
    code_timeout: Annotated[float, typer.Option("--code-timeout", help="Seconds each code answer may run.")] = 10.0,
    workers: Annotated[int, typer.Option("--workers", help="Parallel code runs and judge calls.")] = 4,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="A model without results on some core tasks gets a partial card (not tested)."),
    ] = False,
) -> None:
    """Write capability cards from recorded outcomes, or (--live) by giving a real model the aptitude test."""
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.aptitude.cards import build_cards, check_template, merge_cards, save_cards
    from modelsat.aptitude.facts import load_facts
    from modelsat.data.schema import merge_outcomes, read_outcomes, write_outcomes
    from modelsat.data.zoos import check_models, parse_models

    if (router is None) == (aptitude is None):
        raise ConfigError("give exactly one of --router DIR or --aptitude FILE")
    test = AptitudeSet.load(router / "aptitude.json" if router else _aptitude_path(aptitude))
    if kinds:
        from modelsat.data.kinds import parse_kinds

        test = test.of_kinds(parse_kinds(kinds))
    test = test.first_tasks(tasks_limit)
    table = read_outcomes(outcomes)
    expert = load_facts(facts) if facts else None
    check_template(template)
    if live:
        if models:
            raise ConfigError("--models lists recorded models; a --live run profiles one model, named by --name")
        from modelsat.aptitude.live.answer_log import AnswerLog
        from modelsat.aptitude.live.graders.references import ReferenceBook
        from modelsat.aptitude.live.graders.registry import parse_rules
        from modelsat.aptitude.live.graders.sandbox import Limits
        from modelsat.aptitude.live.plan import GraderSet, estimate, plan_test
        from modelsat.aptitude.live.runner import LazyChat, default_name, open_answerer, profile_live
        from modelsat.data.locate import data_dir
        from modelsat.errors import DataError

        try:
            references = ReferenceBook(data_dir())
        except DataError:
            references = ReferenceBook(None)  # no data folder: only the outcomes' own `answer` column grades
        graders = GraderSet(
            references=references,
            judge=LazyChat(judge, api_key_env=api_key_env, timeout=timeout) if judge else None,
            limits=Limits(seconds=code_timeout),
            rules=parse_rules(grader or []),
            max_tokens=max_tokens,
        )
        name = name or default_name(live)
        log = AnswerLog(answers or out.with_name(f"{out.stem}.{name}.answers.jsonl"), name)
        plan = plan_test(table, test, graders, rotations, per_task=questions_limit)
        _report_plan(plan, estimate(plan, log.done), {t.name: t.kind for t in test.tasks}, as_json and dry_run)
        if dry_run:
            try:
                plan.check_coverage()
            except DataError as exc:
                err.print(f"warning: a live run would stop here: {exc}", soft_wrap=True)
            return
        answerer = open_answerer(
            live, api_key_env=api_key_env, batch_size=batch_size, concurrency=concurrency, timeout=timeout
        )
        result = profile_live(
            answerer, table, test, log, name, rotations, facts=expert, template=template, graders=graders,
            workers=workers, per_task=questions_limit,
        )  # fmt: skip
        merge_cards({name: result.card}, out)
        if outcomes_out:
            previous = read_outcomes(outcomes_out) if outcomes_out.exists() else None
            write_outcomes(merge_outcomes(previous, result.outcomes, replace=True), outcomes_out)
        _report_live(name, result, log.path, as_json)
        return
    chosen = check_models(parse_models(models), table["model"].unique()) if models else sorted(table["model"].unique())
    cards = build_cards(table, test, chosen, facts=expert, template=template, partial=partial)
    save_cards(cards, out)
    err.print(f"{len(chosen)} card(s) on {len(test.tasks)} core tasks -> {out}")
    for card in cards.values():
        if card.is_partial:
            err.print(f"  {card.model}: not tested: {', '.join(card.untested_entries())}", soft_wrap=True)


def _aptitude_path(aptitude: Path | None) -> Path:
    """`--aptitude`: a file, or `unified` for the shipped unified test when no such file exists."""
    from modelsat.aptitude.unified import aptitude_file

    assert aptitude is not None, "profile checks that --router or --aptitude is given"
    return aptitude_file(aptitude)


def _report_plan(plan: "TestPlan", cost: "Estimate", task_kinds: dict[str, str | None], as_json: bool) -> None:
    """What the live test will ask and cost (calls, ≈ tokens), per core task and per kind of request, before
    anything is asked."""
    total = cost.total
    ungradable = sum(len(v) for v in plan.ungradable.values())
    by_kind = cost.grouped(task_kinds) if any(task_kinds.values()) else {}
    if as_json:
        payload = {"questions": len(plan.questions), "ungradable": ungradable, "flagged": plan.flagged,
                   "total": total, "kinds": by_kind, "tasks": cost.by_task}  # fmt: skip
        typer.echo(json.dumps(payload))
        return
    kinds: dict[str, set[str]] = {}
    for question in plan.questions:
        kinds.setdefault(question.task, set()).add(question.kind)
    rows = [
        [task, ",".join(sorted(kinds.get(task, ()))) or "-", plan.totals[task], len(plan.ungradable.get(task, [])),
         row["calls"], f"{row['input_tokens']:,}", f"{row['output_tokens']:,}", row["judge_calls"]]
        for task, row in cost.by_task.items()
    ]  # fmt: skip
    _print_table(["core task", "kind", "questions", "ungradable", "calls", "≈in tokens", "out tokens ≤", "judge calls"],
                 rows)  # fmt: skip
    if by_kind:
        err.print()
        rows = [
            [kind, row["core_tasks"], row["questions"], row["calls"], f"{row['input_tokens']:,}",
             f"{row['output_tokens']:,}", row["judge_calls"], f"{row['judge_input_tokens']:,}"]
            for kind, row in by_kind.items()
        ]  # fmt: skip
        _print_table(["request kind", "core tasks", "questions", "calls", "≈in tokens", "out tokens ≤", "judge calls",
                      "≈judge in tokens"], rows)  # fmt: skip
    err.print(
        f"to ask: {total.get('calls', 0):,} calls, ≈{total.get('input_tokens', 0):,} input and at most "
        f"{total.get('output_tokens', 0):,} output tokens; judge: {total.get('judge_calls', 0):,} calls, "
        f"≈{total.get('judge_input_tokens', 0):,} input and at most {total.get('judge_output_tokens', 0):,} output "
        f"tokens (≈4 characters or ½ a Chinese character a token); {ungradable} question(s) not asked: "
        f"{plan.flagged} flagged in their answer key, {ungradable - plan.flagged} without a reference",
        soft_wrap=True,
    )


def _print_table(header: list[str], rows: list[list[object]]) -> None:
    """Aligned plain-text columns on stderr (never cut to the terminal's width, unlike a rich table in a pipe)."""
    cells = [header, *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        pairs = enumerate(zip(row, widths, strict=True))
        padded = [cell.ljust(width) if i < 2 else cell.rjust(width) for i, (cell, width) in pairs]
        line = "  ".join(padded)
        err.print(line, highlight=False, markup=False, soft_wrap=True)


def _report_live(name: str, result: "LiveResult", log: Path, as_json: bool) -> None:
    """Summarise a live run (with per-task counts of graded, unparsed and timed-out answers) on stderr or as JSON."""
    tasks = {task: asdict(counts) for task, counts in result.tasks.items()}
    summary = {
        "model": name,
        "questions": len(result.outcomes),
        "asked": result.asked,
        "seconds": round(result.seconds, 2),
        "seconds_per_question": round(result.seconds_per_question, 3),
        "accuracy_plain": result.accuracy_plain,
        "accuracy_circle": result.accuracy_circle,
        "malformed": result.malformed,
        "judge_calls": result.judge_calls,
        "ungradable": sum(c.ungradable for c in result.tasks.values()),
        "answers": str(log),
        "tasks": tasks,
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    rows = [
        [
            task,
            c.kinds,
            c.questions,
            c.ungradable,
            c.graded,
            c.unparsed,
            c.timeout,
            "not tested" if c.accuracy is None else f"{c.accuracy:.0%}",
        ]
        for task, c in result.tasks.items()
    ]
    _print_table(["core task", "kind", "questions", "ungradable", "graded", "unparsed", "timed out", "accuracy"], rows)
    err.print(
        f"{name}: {summary['questions']} questions ({result.asked} prompts asked now, "
        f"{summary['seconds_per_question']} s/question); accuracy {result.accuracy_plain:.1%} plain, "
        f"{result.accuracy_circle:.1%} with the circle test; {result.malformed} malformed; "
        f"{result.judge_calls} judge calls; answers in {log}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add `profile` and the `aptitude` group to `app`."""
    app.command("profile")(profile)
    app.add_typer(aptitude_app, name="aptitude")
