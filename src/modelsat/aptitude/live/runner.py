"""Run the aptitude test live and turn the answers into outcomes rows and a capability card.

Each question is asked under `rotations` option shifts (the circle test); only (question, shift)
pairs missing from the answer log are asked, so an interrupted run resumes where it stopped.

Example:
    answerer = open_answerer("hf:smollm2")
    log = AnswerLog("smollm2.answers.jsonl", model="smollm2")
    result = profile_live(answerer, outcomes, aptitude, log, name="smollm2", rotations=2)
    result.card.render()
"""

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
from tqdm import tqdm

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import CLAUSE_TEMPLATE, Card, build_cards
from modelsat.aptitude.live.answer_log import Answer, AnswerLog
from modelsat.aptitude.live.questions import Asked, aptitude_questions, circle
from modelsat.errors import ConfigError


class Answerer(Protocol):
    """Something that answers multiple-choice prompts: a local model or an endpoint."""

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Answer every item, calling `on_answer(item, letter or None if malformed, seconds)` per answer."""


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

    @property
    def seconds_per_question(self) -> float:
        """Wall time per question in this run, all its rotations included (NaN if nothing was asked)."""
        return self.seconds / self.asked * self.prompts_per_question if self.asked else float("nan")


def open_answerer(
    spec: str, *, api_key_env: str = "OPENAI_API_KEY", batch_size: int = 8, concurrency: int = 8, timeout: float = 60.0
) -> Answerer:
    """`hf:PATH_OR_ID` (`hf:smollm2` = the bundled SmolLM2) or `openai:BASE_URL#MODEL_NAME`.

    Raises:
        ConfigError: for any other spelling.
    """
    kind, _, target = spec.partition(":")
    if kind == "hf" and target:
        from modelsat.aptitude.live.local import LocalScorer  # torch only when a local model runs

        return LocalScorer.load(target, batch_size=batch_size)
    base_url, sep, model = target.partition("#")
    if kind == "openai" and sep and base_url and model:
        from modelsat.aptitude.live.endpoint import EndpointClient

        return EndpointClient(base_url, model, os.environ.get(api_key_env), concurrency=concurrency, timeout=timeout)
    raise ConfigError(f"--live {spec!r}: expected hf:PATH_OR_ID (e.g. hf:smollm2) or openai:BASE_URL#MODEL_NAME")


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
) -> LiveResult:
    """Ask the unanswered aptitude questions and build `name`'s outcomes rows and card.

    A question scores 1 only if answered right under every rotation (with `rotations=1`, plain accuracy).

    Raises:
        ConfigError: `rotations` < 1. BackendError: from the answerer (answers so far stay in the log).
    """
    if rotations < 1:
        raise ConfigError(f"--rotations must be at least 1, got {rotations}")
    questions = aptitude_questions(outcomes, aptitude)
    asked = {q.query_id: circle(q, rotations) for q in questions}
    todo = [a for items in asked.values() for a in items if (a.question.query_id, a.shift) not in answers.done]
    total = sum(len(items) for items in asked.values())
    bar = tqdm(total=total, initial=total - len(todo), desc=f"profiling {name}", file=sys.stderr, disable=not progress)

    def record(item: Asked, letter: str | None, seconds: float) -> None:
        correct = letter == item.answer
        answers.append(Answer(item.question.query_id, item.shift, letter, correct, letter is None, seconds))
        bar.update(1)

    began = time.perf_counter()
    try:
        answerer.answer(todo, record)
    finally:
        bar.close()
        answers.close()
    elapsed = time.perf_counter() - began
    got = {qid: [answers.answers[(qid, a.shift)] for a in items] for qid, items in asked.items()}
    plain = {qid: replies[0].correct for qid, replies in got.items()}  # shift 0 = the original order
    passed = {qid: all(r.correct for r in replies) for qid, replies in got.items()}
    rows = outcomes[outcomes["query_id"].isin(asked)].drop_duplicates("query_id").set_index("query_id")
    rows = rows.loc[list(asked)].reset_index().assign(model=name, cost=float("nan"))
    rows["score"] = rows["query_id"].map(passed).astype(float)
    card = build_cards(rows, aptitude, [name], facts=facts, template=template)[name]
    malformed = sum(r.malformed for replies in got.values() for r in replies)
    return LiveResult(
        outcomes=rows[outcomes.columns],
        card=card,
        asked=len(todo),
        seconds=elapsed,
        accuracy_plain=sum(plain.values()) / len(plain),
        accuracy_circle=sum(passed.values()) / len(passed),
        malformed=malformed,
        prompts_per_question=total / len(asked),
    )
