"""Run the aptitude test live and turn the graded answers into outcomes rows and a capability card.

Each question is asked through its grader (`plan.py`): multiple choice under `rotations` option
shifts (the circle test), free-form questions once. Only (question, shift) pairs missing from the
answer log are asked, and only answers not yet graded are graded, so an interrupted run resumes
where it stopped. Slow grading (code runs, judge calls) runs in `workers` threads after answering.

Example:
    answerer = open_answerer("hf:smollm2")
    log = AnswerLog("smollm2.answers.jsonl", model="smollm2")
    result = profile_live(answerer, outcomes, aptitude, log, name="smollm2", rotations=2)
    result.card.render()
"""

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pandas as pd
from tqdm import tqdm

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import CLAUSE_TEMPLATE, Card, build_cards
from modelsat.aptitude.live.answer_log import Answer, AnswerLog
from modelsat.aptitude.live.graders.base import STATUSES
from modelsat.aptitude.live.graders.judge import Chat
from modelsat.aptitude.live.plan import GraderSet, TestPlan, plan_test
from modelsat.aptitude.live.questions import Asked
from modelsat.errors import ConfigError


class Answerer(Protocol):
    """Something that answers prompts: a local model or an endpoint."""

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Answer every item, calling `on_answer(item, reply or None if unusable, seconds)` per answer."""


@dataclass(frozen=True)
class TaskCounts:
    """One core task of a live run: its questions, what could not be graded, and how grading went per prompt."""

    kinds: str
    questions: int
    ungradable: int
    graded: int
    unparsed: int
    timeout: int
    accuracy: float | None  # None: not tested (a partial test left the task out)


@dataclass(frozen=True)
class LiveResult:
    """What a live run produced: outcomes rows (score = circle-test verdict), the card and run figures."""

    outcomes: pd.DataFrame
    card: Card
    asked: int
    seconds: float
    accuracy_plain: float
    accuracy_circle: float
    malformed: int
    prompts_per_question: float
    tasks: dict[str, TaskCounts]
    judge_calls: int

    @property
    def seconds_per_question(self) -> float:
        """Wall time per question in this run, all its rotations included (NaN if nothing was asked)."""
        return self.seconds / self.asked * self.prompts_per_question if self.asked else float("nan")


def _parse_spec(spec: str, flag: str) -> tuple[str, str, str]:
    """('hf', path, '') or ('openai', base_url, model) from a model spec.

    Raises:
        ConfigError: for any other spelling.
    """
    kind, _, target = spec.partition(":")
    if kind == "hf" and target:
        return kind, target, ""
    base_url, sep, model = target.partition("#")
    if kind == "openai" and sep and base_url and model:
        return kind, base_url, model
    raise ConfigError(f"{flag} {spec!r}: expected hf:PATH_OR_ID (e.g. hf:smollm2) or openai:BASE_URL#MODEL_NAME")


def open_answerer(
    spec: str, *, api_key_env: str = "OPENAI_API_KEY", batch_size: int = 8, concurrency: int = 8, timeout: float = 60.0
) -> Answerer:
    """`hf:PATH_OR_ID` (`hf:smollm2` = the bundled SmolLM2) or `openai:BASE_URL#MODEL_NAME`.

    Raises:
        ConfigError: for any other spelling.
    """
    kind, target, model = _parse_spec(spec, "--live")
    if kind == "hf":
        from modelsat.aptitude.live.local import LocalScorer  # torch only when a local model runs

        return LocalScorer.load(target, batch_size=batch_size)
    from modelsat.aptitude.live.endpoint import EndpointClient

    return EndpointClient(target, model, os.environ.get(api_key_env), concurrency=concurrency, timeout=timeout)


class LazyChat:
    """A judge opened on its first call, so planning and `--dry-run` never load or contact it."""

    def __init__(self, spec: str, *, api_key_env: str = "OPENAI_API_KEY", timeout: float = 60.0) -> None:
        _parse_spec(spec, "--judge")  # fail early on a bad spelling
        self.spec, self.api_key_env, self.timeout = spec, api_key_env, timeout
        self._chat: Chat | None = None

    def complete(self, prompt: str, max_tokens: int) -> str | None:
        """The judge's reply to `prompt`."""
        if self._chat is None:
            kind, target, model = _parse_spec(self.spec, "--judge")
            if kind == "hf":
                from modelsat.aptitude.live.local import LocalScorer

                self._chat = LocalScorer.load(target, batch_size=1)
            else:
                from modelsat.aptitude.live.endpoint import EndpointClient

                key = os.environ.get(self.api_key_env)
                self._chat = EndpointClient(target, model, key, timeout=self.timeout)
        return self._chat.complete(prompt, max_tokens)


def default_name(spec: str) -> str:
    """A model name from a live spec: the part after '#', else the last path component."""
    target = spec.partition(":")[2]
    return target.partition("#")[2] or target.rstrip("/").rsplit("/", 1)[-1]


def profile_live(
    answerer: Answerer,
    outcomes: pd.DataFrame,
    aptitude: AptitudeSet,
    answers: AnswerLog,
    name: str,
    rotations: int = 2,
    facts: Mapping[str, Mapping[str, Any]] | None = None,
    template: str = CLAUSE_TEMPLATE,
    progress: bool = True,
    graders: GraderSet | None = None,
    workers: int = 4,
    per_task: int | None = None,
) -> LiveResult:
    """Ask the unanswered aptitude questions, grade the ungraded answers, build `name`'s outcomes rows and card.

    A question scores its lowest score over its prompts: a multiple-choice one is right only if right
    under every rotation (with `rotations=1`, plain accuracy); a free-form one is asked once. With
    `per_task`, only the first `per_task` gradable questions of each core task are asked: the card is on
    the same test (same fingerprint), its accuracies estimated from those questions.

    Raises:
        ConfigError: `rotations` < 1, an open-ended task without a judge.
        DataError: a core task with fewer than half of its questions gradable (before anything is asked).
        BackendError: from the answerer or the judge (answers so far stay in the log).
    """
    if rotations < 1:
        raise ConfigError(f"--rotations must be at least 1, got {rotations}")
    if per_task is not None and per_task < 1:
        raise ConfigError(f"--questions-limit must be at least 1, got {per_task}")
    plan = plan_test(outcomes, aptitude, graders or GraderSet(), rotations, per_task=per_task)
    plan.check_coverage()
    items = {(a.question.query_id, a.shift): a for asked in plan.asked.values() for a in asked}
    todo = [item for key, item in items.items() if key not in answers.done]
    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=f"profiling {name}", file=sys.stderr,
               disable=not progress)  # fmt: skip

    def record(item: Asked, reply: str | None, seconds: float) -> None:
        grader = plan.graders[item.question.query_id]
        answer = Answer(item.question.query_id, item.shift, reply, seconds)
        if not grader.deferred:
            answer = _graded(answer, grader.grade(item, reply))
        answers.append(answer)
        bar.update(1)

    began = time.perf_counter()
    try:
        answerer.answer(todo, record)
        bar.close()
        _grade_pending(plan, items, answers, workers, progress)
    finally:
        bar.close()
        answers.close()
    return _result(plan, items, answers, outcomes, aptitude, name, facts, template, len(todo),
                   time.perf_counter() - began)  # fmt: skip


def _graded(answer: Answer, verdict: Any) -> Answer:
    """`answer` with the grader's verdict."""
    return replace(answer, status=verdict.status, score=verdict.score, parsed=verdict.parsed,
                   detail=verdict.detail, judge_calls=verdict.judge_calls)  # fmt: skip


def _grade_pending(
    plan: TestPlan, items: dict[tuple[str, int], Asked], answers: AnswerLog, workers: int, progress: bool
) -> None:
    """Grade logged answers that are not graded yet (code runs, judge calls) in `workers` threads."""
    pending = [answers.answers[key] for key in items if answers.answers[key].status is None]
    if not pending:
        return
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(pending), desc="grading", file=sys.stderr, disable=not progress) as bar,
    ):
        futures = {
            pool.submit(plan.graders[a.query_id].grade, items[(a.query_id, a.shift)], a.reply): a for a in pending
        }
        try:
            for future in as_completed(futures):
                answers.append(_graded(futures[future], future.result()))
                bar.update(1)
        finally:
            for future in futures:
                future.cancel()


def _result(
    plan: TestPlan,
    items: dict[tuple[str, int], Asked],
    answers: AnswerLog,
    outcomes: pd.DataFrame,
    aptitude: AptitudeSet,
    name: str,
    facts: Mapping[str, Mapping[str, Any]] | None,
    template: str,
    asked: int,
    seconds: float,
) -> LiveResult:
    """Outcomes rows, card and per-task counts from the graded log."""
    got = {q.query_id: [answers.answers[(q.query_id, a.shift)] for a in plan.asked[q.query_id]] for q in plan.questions}
    plain = {qid: replies[0].score or 0.0 for qid, replies in got.items()}  # shift 0 = the original order
    passed = {qid: min(r.score or 0.0 for r in replies) for qid, replies in got.items()}
    rows = outcomes[outcomes["query_id"].isin(got)].drop_duplicates("query_id").set_index("query_id")
    rows = rows.loc[list(got)].reset_index().assign(model=name, cost=float("nan"))
    rows["score"] = rows["query_id"].map(passed).astype(float)
    # A partial test (per_task) has fewer answers than `build_cards` asks of recorded results; the plan's
    # coverage check already held each core task to half of the questions it considered.
    coverage = 0.0 if sum(plan.totals.values()) < len(aptitude.query_ids) else 0.5
    card = build_cards(rows, aptitude, [name], facts=facts, template=template, min_coverage=coverage)[name]
    accuracy = {s.task: s.accuracy for s in card.scores}
    tasks = {}
    for task in aptitude.tasks:
        mine = [q for q in plan.questions if q.task == task.name]
        statuses = Counter(r.status for q in mine for r in got[q.query_id])
        tasks[task.name] = TaskCounts(
            kinds=",".join(sorted({q.kind for q in mine})),
            questions=plan.totals[task.name],
            ungradable=len(plan.ungradable.get(task.name, [])),
            **{status: statuses[status] for status in STATUSES},
            accuracy=accuracy[task.name],
        )
    return LiveResult(
        outcomes=rows[outcomes.columns],
        card=card,
        asked=asked,
        seconds=seconds,
        accuracy_plain=sum(plain.values()) / len(plain),
        accuracy_circle=sum(passed.values()) / len(passed),
        malformed=sum(r.malformed for replies in got.values() for r in replies),
        prompts_per_question=len(items) / len(got),
        tasks=tasks,
        judge_calls=sum(r.judge_calls for replies in got.values() for r in replies),
    )
