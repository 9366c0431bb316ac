"""The grader interface: one class per kind of question, chosen by the question's task label.

A grader turns an outcomes row into a gradable `Question` (or says why it cannot: no reference),
writes the prompt(s) to ask, and grades a reply. Only `grade` is required; the defaults ask the
question's text once as a free-form prompt.

Example:
    class YesNoGrader(Grader):
        kind = "yes-no"

        def grade(self, item: Asked, reply: str | None) -> Verdict:
            said = (reply or "").strip().lower()[:3]
            if said not in ("yes", "no"):
                return Verdict(0.0, "unparsed")
            return Verdict(float(said == item.question.reference), "graded", parsed=said)
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from modelsat.aptitude.live.questions import Asked, Question

Status = Literal["graded", "unparsed", "timeout"]
STATUSES: tuple[Status, ...] = ("graded", "unparsed", "timeout")


@dataclass(frozen=True)
class Verdict:
    """A graded reply: `score` in [0, 1] and how grading went (`unparsed` and `timeout` score 0)."""

    score: float
    status: Status
    parsed: str | None = None  # what was read: the letter, the number, the run's outcome, the judge's picks
    detail: str = ""  # for audit: the run's output tail, the judge's raw replies
    judge_calls: int = 0


class Grader:
    """Grades one kind of question. Subclasses set `kind` and implement `grade`."""

    kind: ClassVar[str]
    max_tokens: ClassVar[int] = 512  # reply length budget of a free-form prompt
    deferred: ClassVar[bool] = False  # slow grading (code runs, judge calls): done in worker threads, resumable

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """The gradable question of an outcomes row (core task `task`), or why it cannot be graded.

        Default: the row's `answer` as the reference; without one the question is ungradable.
        """
        answer = row.get("answer")
        if answer is None or (isinstance(answer, float) and answer != answer) or not str(answer).strip():
            return f"no reference answer for task {row['task']!r}"
        return self.make(row, task, reference=str(answer))

    def make(self, row: Mapping[str, Any], task: str, **fields: Any) -> Question:
        """A `Question` of this kind from an outcomes row."""
        text, label = str(row["prompt"]), str(row["task"])
        return Question(str(row["query_id"]), task, text, label=label, kind=self.kind, **fields)

    def prompts(self, question: Question, rotations: int) -> list[Asked]:
        """The prompts asked for `question` (default: its text once, free-form)."""
        return [Asked(question, 0, self.prompt(question), "", self.max_tokens, generate=True)]

    def prompt(self, question: Question) -> str:
        """The prompt text of a free-form question (default: the question as written)."""
        return question.text

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """Grade `reply` (None: the model gave no usable reply) to the prompt `item`."""
        raise NotImplementedError
