"""The plan of a live aptitude test: each question's grader and prompts, what cannot be graded, what it costs.

`plan_test` reads each aptitude question's outcomes row, picks its grader from the row's task label
(`graders/registry.py`), and lists the prompts to ask. A question without a reference (no answer
key, no tests, no reference answer) is ungradable: never asked, never guessed, counted per task.
A row its answer key flags (no single right answer) is left out the same way and counted apart.
`per_task` asks only the first N gradable questions of each core task, for a quick card on the same test.
`estimate` sums the calls and tokens still to spend, for `modelsat profile --dry-run`.

Example:
    graders = GraderSet(references=ReferenceBook(data_dir()), judge=open_chat("openai:URL#judge"))
    plan = plan_test(outcomes, aptitude, graders, rotations=2)
    estimate(plan, done=set()).total  # {'calls': ..., 'input_tokens': ..., 'output_tokens': ...}
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.live.graders.base import Grader
from modelsat.aptitude.live.graders.judge import JUDGE_MAX_TOKENS, JUDGE_PROMPT, Chat
from modelsat.aptitude.live.graders.references import FLAGGED, ReferenceBook
from modelsat.aptitude.live.graders.registry import GRADERS, kind_for
from modelsat.aptitude.live.graders.sandbox import Limits
from modelsat.aptitude.live.questions import Asked, Question
from modelsat.errors import DataError

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text; token counts in estimates are approximate
TOKENS_PER_CJK = 2  # a Chinese or Japanese character: SmolLM2's tokenizer spends about 2, Chinese-trained ones fewer
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_ESTIMATE_KEYS = (
    "questions",
    "calls",
    "input_tokens",
    "output_tokens",
    "judge_calls",
    "judge_input_tokens",
    "judge_output_tokens",
)


@dataclass
class GraderSet:
    """The graders of one run, created on first use with the run's references, sandbox limits and judge."""

    references: ReferenceBook = field(default_factory=lambda: ReferenceBook(None))
    judge: Chat | None = None
    limits: Limits = field(default_factory=Limits)
    rules: Sequence[tuple[str, str]] = ()
    judge_retries: int = 2
    max_tokens: int | None = None  # caps every free-form reply
    _made: dict[str, Grader] = field(default_factory=dict, repr=False)

    def grader(self, kind: str) -> Grader:
        """The grader of `kind`, created once."""
        if kind not in self._made:
            self._made[kind] = GRADERS.create(
                kind, references=self.references, judge=self.judge, limits=self.limits, retries=self.judge_retries
            )
        return self._made[kind]

    def prompts(self, grader: Grader, question: Question, rotations: int) -> list[Asked]:
        """The grader's prompts for `question`, free-form replies capped at `max_tokens`."""
        asked = grader.prompts(question, rotations)
        if self.max_tokens is None:
            return asked
        return [a if not a.generate else _capped(a, self.max_tokens) for a in asked]


def _capped(item: Asked, max_tokens: int) -> Asked:
    return Asked(item.question, item.shift, item.prompt, item.answer, min(item.max_tokens, max_tokens), True)


@dataclass
class TestPlan:
    """Questions to ask (aptitude order), their graders and prompts, and the ungradable ones by core task."""

    questions: list[Question]
    graders: dict[str, Grader]  # query_id -> grader
    asked: dict[str, list[Asked]]  # query_id -> prompts
    ungradable: dict[str, list[tuple[str, str]]]  # core task -> [(query_id, why)]
    totals: dict[str, int]  # core task -> questions considered (all of the aptitude set's, or per_task's share)

    @property
    def flagged(self) -> int:
        """Ungradable questions that their answer key flags (left out on purpose, not for want of a key)."""
        return sum(why.startswith(FLAGGED) for reasons in self.ungradable.values() for _, why in reasons)

    def check_coverage(self, min_coverage: float = 0.5) -> None:
        """Raise DataError, before anything is asked, when a core task has too few gradable questions."""
        short = [
            f"{task} ({self.totals[task] - len(why)} of {self.totals[task]} gradable; e.g. {why[0][0]}: {why[0][1]})"
            for task, why in self.ungradable.items()
            if self.totals[task] - len(why) < min_coverage * self.totals[task]
        ]
        if short:
            raise DataError(
                "a card needs at least half of each core task's questions graded, and these core tasks lack "
                f"references: {'; '.join(short)}. Give the outcomes rows an `answer` column, or profile on an "
                "aptitude set of gradable tasks"
            )


def plan_test(
    outcomes: pd.DataFrame, aptitude: AptitudeSet, graders: GraderSet, rotations: int, per_task: int | None = None
) -> TestPlan:
    """Each aptitude question's grader and prompts (only each core task's first `per_task` gradable ones if given);
    ungradable ones set apart.

    Raises:
        DataError: an aptitude question is missing from `outcomes`.
    """
    rows = outcomes[outcomes["query_id"].isin(aptitude.query_ids)].drop_duplicates("query_id").set_index("query_id")
    plan = TestPlan([], {}, {}, {}, {})
    for task in aptitude.tasks:
        gradable = plan.totals[task.name] = 0
        for qid in task.query_ids:
            if per_task is not None and gradable == per_task:
                break
            plan.totals[task.name] += 1
            if qid not in rows.index:
                raise DataError(f"aptitude question {qid} ({task.name}) is not in the outcomes table")
            question = graded_question(rows.loc[qid], task.name, graders)
            if isinstance(question, str):
                plan.ungradable.setdefault(task.name, []).append((qid, question))
                continue
            gradable += 1
            grader = graders.grader(question.kind)
            plan.questions.append(question)
            plan.graders[qid] = grader
            plan.asked[qid] = graders.prompts(grader, question, rotations)
    return plan


def graded_question(row: pd.Series, core_task: str, graders: GraderSet) -> Question | str:
    """The question of outcomes row `row` (indexed by query id) as its grader asks it, or why it cannot be graded."""
    record = {"query_id": row.name, **{k: v for k, v in row.items() if not _missing(v)}}
    kind = kind_for(str(record["task"]), graders.rules, has_options=bool(record.get("options")))
    if kind is None:
        return f"no grader for task label {record['task']!r}; map it with --grader '{record['task']}=KIND'"
    return graders.grader(kind).question(record, core_task)


def _missing(value: object) -> bool:
    """True for None/NaN cells."""
    return value is None or (isinstance(value, float) and value != value)


@dataclass(frozen=True)
class Estimate:
    """Calls and approximate tokens still to spend, per core task and in total (candidate and judge apart)."""

    by_task: dict[str, dict[str, int]]

    @property
    def total(self) -> dict[str, int]:
        """Sums over the core tasks."""
        keys = next(iter(self.by_task.values())).keys() if self.by_task else ()
        return {key: sum(row[key] for row in self.by_task.values()) for key in keys}

    def grouped(self, groups: dict[str, str | None]) -> dict[str, dict[str, int]]:
        """Sums per group of core tasks (`groups`: core task -> group, e.g. its kind of request), with the core
        tasks and questions each holds; groups in first-seen order."""
        out: dict[str, dict[str, int]] = {}
        for task, row in self.by_task.items():
            group = out.setdefault(str(groups.get(task)), {"core_tasks": 0} | dict.fromkeys(row, 0))
            group["core_tasks"] += 1
            for key, value in row.items():
                group[key] += value
        return out


def approx_tokens(text: str) -> int:
    """Tokens of `text`, roughly: 4 characters a token, a CJK character `TOKENS_PER_CJK` (CMMLU, C-Eval)."""
    cjk = len(_CJK.findall(text))
    return TOKENS_PER_CJK * cjk + (len(text) - cjk) // CHARS_PER_TOKEN


def estimate(plan: TestPlan, done: set[tuple[str, int]], judge_passes: int = 2) -> Estimate:
    """What the prompts not in `done` will cost: calls, input tokens (`approx_tokens`), output tokens (≤ max_tokens);
    `questions` counts the gradable questions of each core task.

    Open-ended answers add `judge_passes` judge calls each (both orders), reading the instruction, the
    reference and an answer of up to `max_tokens`; retries of unparsed verdicts are not counted.
    """
    by_task = {task: dict.fromkeys(_ESTIMATE_KEYS, 0) for task in plan.totals}  # ungradable-only tasks too
    judge_overhead = approx_tokens(JUDGE_PROMPT)
    for question in plan.questions:
        row = by_task[question.task]
        row["questions"] += 1  # gradable questions of the test, asked now or before
        for item in plan.asked[question.query_id]:
            if (question.query_id, item.shift) in done:
                continue
            row["calls"] += 1
            row["input_tokens"] += approx_tokens(item.prompt) + 1
            row["output_tokens"] += item.max_tokens
            if question.kind == "open-ended":
                reading = approx_tokens(question.text + (question.reference or "")) + item.max_tokens
                row["judge_calls"] += judge_passes
                row["judge_input_tokens"] += judge_passes * (judge_overhead + reading)
                row["judge_output_tokens"] += judge_passes * JUDGE_MAX_TOKENS
    return Estimate(by_task)
