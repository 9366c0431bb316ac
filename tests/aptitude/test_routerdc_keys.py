"""RouterDC's answer keys (`references/routerdc/`) in the live graders, on real records of ../shared/data:
multiple choice (MMLU, CMMLU, C-Eval, ARC-Challenge with its options from the key), math (MATH's boxed
answers, GSM8K's final numbers), code (HumanEval, MBPP), flagged rows left out and counted; the shipped
specialists test planned and priced, and taken by an oracle on a few questions per core task."""

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.live.answer_log import AnswerLog
from modelsat.aptitude.live.graders.choice import MultipleChoiceGrader
from modelsat.aptitude.live.graders.code import CodeGrader
from modelsat.aptitude.live.graders.math import MathGrader
from modelsat.aptitude.live.graders.references import FLAGGED, KEY_FLAGS, AnswerKey, ReferenceBook, humaneval_problems
from modelsat.aptitude.live.graders.sandbox import Limits
from modelsat.aptitude.live.plan import GraderSet, plan_test
from modelsat.aptitude.live.questions import LETTERS, Asked, Question
from modelsat.aptitude.live.runner import profile_live
from modelsat.data.schema import write_outcomes
from modelsat.errors import ConfigError, DataError

SPECIALISTS = Path(__file__).resolve().parents[2] / "routers" / "specialists"
FLAGGED_IDS = ("routerdc/ceval/test/435", "routerdc/ceval/test/484", "routerdc/arc-challenge/test/27",
               "routerdc/arc-challenge/test/321", "routerdc/arc-challenge/train/231",
               "routerdc/arc-challenge/train/520")  # fmt: skip
CHOICE_TASKS = ("mmlu", "cmmlu", "ceval", "arc-challenge")


@pytest.fixture(scope="module")
def book(shared_data: Path) -> ReferenceBook:
    return ReferenceBook(shared_data)


@pytest.fixture(scope="module")
def rows(specialists_outcomes: pd.DataFrame) -> pd.DataFrame:
    """One outcomes row per RouterDC question, by query id."""
    return specialists_outcomes.drop_duplicates("query_id").set_index("query_id", drop=False)


def row(rows: pd.DataFrame, query_id: str) -> dict:
    return rows.loc[query_id].to_dict()


def key_rows(shared_data: Path, name: str) -> list[dict]:
    path = shared_data / "references" / "routerdc" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def right_and_wrong(grader: MultipleChoiceGrader, question: Question) -> list[tuple[float, float]]:
    """(score of the right letter, score of another letter) under each rotation of the circle test."""
    asked = grader.prompts(question, rotations=2)
    wrong = {a.shift: LETTERS[(LETTERS.index(a.answer) + 1) % a.n_options] for a in asked}
    return [(grader.grade(a, f"The answer is ({a.answer}).").score, grader.grade(a, wrong[a.shift]).score)
            for a in asked]  # fmt: skip


def test_mmlu_cmmlu_and_ceval_questions_take_the_letter_of_their_key(rows: pd.DataFrame, book: ReferenceBook) -> None:
    grader = MultipleChoiceGrader(book)
    mmlu = grader.question(row(rows, "routerdc/mmlu/test/0"), "mmlu/00")
    assert mmlu.text == "The field of psychology arose out of which of the following?"
    assert mmlu.options[mmlu.answer_index] == "Philosophy" and mmlu.label == "mmlu"
    cmmlu = grader.question(row(rows, "routerdc/cmmlu/test/0"), "cmmlu/00")
    assert cmmlu.options[cmmlu.answer_index] == "中华人民共和国司法部" and not cmmlu.text.endswith("答案：")
    ceval = grader.question(row(rows, "routerdc/ceval/test/0"), "ceval")
    assert ceval.options == ("1", "2", "3", "4") and LETTERS[ceval.answer_index] == "C"  # '4答案：' cut to '4'
    for question in (mmlu, cmmlu, ceval):
        assert right_and_wrong(grader, question) == [(1.0, 0.0), (1.0, 0.0)]


def test_arc_questions_show_the_options_of_their_key(rows: pd.DataFrame, book: ReferenceBook) -> None:
    grader = MultipleChoiceGrader(book)
    assert "no options" in MultipleChoiceGrader(ReferenceBook(None)).question(
        row(rows, "routerdc/arc-challenge/test/0"), "arc")  # fmt: skip
    arc = grader.question(row(rows, "routerdc/arc-challenge/test/0"), "arc-challenge/00")
    assert arc.text == "Which is an example of condensation?"  # without RouterDC's 'Question:' ... 'Answer:'
    first = grader.prompts(arc, rotations=2)[0]
    assert first.answer == "D" and first.prompt.endswith("D. moisture on mirror after hot shower\nAnswer:")
    assert first.prompt.count("Question:") == 1 and first.prompt.count("Answer:") == 1
    assert right_and_wrong(grader, arc) == [(1.0, 0.0), (1.0, 0.0)]


def test_flagged_rows_are_left_out_naming_their_flag(
    rows: pd.DataFrame, book: ReferenceBook, shared_data: Path
) -> None:
    files = sorted(p.name for p in (shared_data / "references" / "routerdc").glob("*.jsonl"))
    keyed = [r for name in files for r in key_rows(shared_data, name)]
    flagged = [r["i"] for r in keyed if any(r.get(flag) for flag in KEY_FLAGS)]
    assert len(flagged) == len(FLAGGED_IDS) == 6
    grader = MultipleChoiceGrader(book)
    for qid in FLAGGED_IDS:
        why = grader.question(row(rows, qid), "t")
        assert isinstance(why, str) and why.startswith(FLAGGED), why
        assert ("conflict" if "ceval" in qid else "ambiguous_stem") in why


def test_a_key_must_be_for_the_same_question(rows: pd.DataFrame, book: ReferenceBook) -> None:
    other = row(rows, "routerdc/mmlu/test/0")["prompt"]
    assert "keys another question" in book.routerdc("routerdc/mmlu/test/1", other)
    assert "no row 99999" in book.routerdc("routerdc/mmlu/test/99999", other)
    assert "no answer key for 'humaneval'" in book.routerdc("routerdc/humaneval/train/0", other)
    assert "not a RouterDC record id" in book.routerdc("routerdc/mmlu/0", other)
    assert "no answer key" in ReferenceBook(None).routerdc("routerdc/mmlu/test/0", other)


def test_every_multiple_choice_record_but_the_flagged_is_gradable(rows: pd.DataFrame, book: ReferenceBook) -> None:
    grader = MultipleChoiceGrader(book)
    ungradable, n_options = {}, Counter()
    for record in rows[rows["task"].isin(CHOICE_TASKS)].to_dict("records"):
        question = grader.question(record, "t")
        if isinstance(question, str):
            ungradable[record["query_id"]] = question
        else:
            n_options[(record["task"], len(question.options))] += 1
    assert sorted(ungradable) == sorted(FLAGGED_IDS)
    assert {k: n for k, n in n_options.items() if k[1] != 4 and k[0] != "arc-challenge"} == {}
    assert n_options[("arc-challenge", 3)] == 4 and n_options[("arc-challenge", 5)] == 3  # as their keys list
    assert rows["task"].isin(CHOICE_TASKS).sum() == 4213 + 2000 + 3475 + 2000 + 1346 + 352 + 820


def boxed(grader: MathGrader, question: Question, reply: str) -> float:
    return grader.grade(Asked(question, 0, grader.prompt(question), "", generate=True), reply).score


def test_math_records_are_graded_on_their_boxed_answers(
    rows: pd.DataFrame, book: ReferenceBook, shared_data: Path
) -> None:
    grader = MathGrader(book)
    answers = [r["answer"] for r in key_rows(shared_data, "math_prealgebra_key.jsonl")]
    questions = [grader.question(row(rows, f"routerdc/math-prealgebra/test/{i}"), "math") for i in range(len(answers))]
    assert len(questions) == 871 and all(isinstance(q, Question) for q in questions)
    assert "\\boxed{}" in grader.prompt(questions[0]) and "####" not in grader.prompt(questions[0])
    pairs = list(zip(questions, answers, strict=True))
    assert all(boxed(grader, q, f"So the answer is $\\boxed{{{a}}}$.") == 1.0 for q, a in pairs)
    # each answer against the next question's: right only where the two answers coincide
    shifted = zip(questions, answers[1:] + answers[:1], strict=True)
    swapped = sum(boxed(grader, q, f"\\boxed{{{a}}}") for q, a in shifted)
    assert swapped / len(answers) < 0.05

    def by_answer(answer: str) -> Question:
        return questions[answers.index(answer)]

    assert [boxed(grader, by_answer("4\\sqrt{2}"), r) for r in ("\\boxed{4\\sqrt2}", "\\boxed{4}", "#### 4")] == [
        1.0, 0.0, 0.0]  # fmt: skip
    half = by_answer("\\frac{1}{2}")
    assert [boxed(grader, half, r) for r in ("\\boxed{0.5}", "#### 0.5", "\\boxed{\\dfrac12}", "\\boxed{2}")] == [
        1.0, 1.0, 1.0, 0.0]  # fmt: skip
    assert boxed(grader, by_answer("36^\\circ"), "The angle is $\\boxed{36^{\\circ}}$") == 1.0
    assert boxed(grader, by_answer("\\text{east}"), "\\boxed{\\text{east}}") == 1.0
    assert boxed(grader, by_answer("\\text{east}"), "\\boxed{west}") == 0.0
    assert boxed(grader, by_answer("5x-3"), "so it simplifies to $5x - 3$.") == 0.0  # states no final answer


def test_gsm8k_records_take_gsm8k_final_answers(rows: pd.DataFrame, book: ReferenceBook, shared_data: Path) -> None:
    reference = {}
    for line in (shared_data / "references" / "gsm8k" / "train.jsonl").read_text().split("\n"):
        if line.strip():
            item = json.loads(line)
            reference[" ".join(item["question"].split())] = item["answer"].rsplit("#### ", 1)[1].strip()
    grader = MathGrader(book)
    record = row(rows, "routerdc/gsm8k/train/0")
    question = grader.question(record, "gsm8k/00")
    assert question.reference == reference[" ".join(record["prompt"].split())]
    assert "####" in grader.prompt(question)
    assert boxed(grader, question, f"#### {question.reference}") == 1.0
    assert boxed(grader, question, f"#### {float(question.reference.replace(',', '')) + 1}") == 0.0


MBPP_REMOVE_OCC = '''```python
def remove_Occ(s, ch):
    first = s.find(ch)
    if first >= 0:
        s = s[:first] + s[first + 1:]
    last = s.rfind(ch)
    return s[:last] + s[last + 1:] if last >= 0 else s
```'''


def test_code_records_run_humaneval_and_mbpp_tests(rows: pd.DataFrame, book: ReferenceBook) -> None:
    grader = CodeGrader(book, Limits(seconds=10))
    humaneval = grader.question(row(rows, "routerdc/humaneval/train/0"), "humaneval")
    solution = {" ".join(p.prompt.split()): p.canonical_solution for p in humaneval_problems()}
    canonical = solution[" ".join(humaneval.text.split())]
    asked = grader.prompts(humaneval, 1)[0]
    assert "def generate_integers(a, b):" in asked.prompt
    assert grader.grade(asked, canonical).score == 1.0
    assert grader.grade(asked, "```python\ndef generate_integers(a, b):\n    return []\n```").score == 0.0
    mbpp = grader.question(row(rows, "routerdc/mbpp/test/0"), "mbpp")
    assert json.loads(mbpp.reference) == {"tests": 'assert remove_Occ("hello","l") == "heo"'}
    asked = grader.prompts(mbpp, 1)[0]
    assert grader.grade(asked, MBPP_REMOVE_OCC).score == 1.0
    assert grader.grade(asked, "```python\ndef remove_Occ(s, ch):\n    return s\n```").score == 0.0


@pytest.fixture(scope="module")
def specialists_test() -> AptitudeSet:
    return AptitudeSet.load(SPECIALISTS / "aptitude.json")


def test_the_specialists_dry_run_grades_all_but_the_flagged(
    specialists_outcomes: pd.DataFrame, specialists_test: AptitudeSet, book: ReferenceBook, tmp_path: Path,
    cli: Callable,
) -> None:  # fmt: skip
    aptitude_rows = specialists_outcomes[specialists_outcomes["query_id"].isin(specialists_test.query_ids)]
    write_outcomes(aptitude_rows, tmp_path / "specialists.parquet")
    flagged = [q for q in specialists_test.query_ids if q in FLAGGED_IDS]
    labels = aptitude_rows.drop_duplicates("query_id").set_index("query_id")["task"]
    choice = sum(labels[q] in CHOICE_TASKS for q in specialists_test.query_ids if q not in flagged)
    args = ("profile", "--outcomes", tmp_path / "specialists.parquet", "--router", SPECIALISTS, "-o",
            tmp_path / "cards.json", "--live", "hf:smollm2", "--dry-run")  # fmt: skip
    run = cli(*args, "--json")
    assert run.code == 0, run.stderr
    plan = json.loads(run.stdout)
    assert plan["questions"] == len(specialists_test.query_ids) - len(flagged)
    assert plan["ungradable"] == plan["flagged"] == len(flagged)
    assert plan["total"]["calls"] == 2 * choice + (plan["questions"] - choice)  # 4 options: 2 distinct rotations
    assert not (tmp_path / "cards.json").exists()
    text = " ".join(cli(*args).stderr.split())
    assert f"to ask: {plan['total']['calls']:,} calls" in text
    assert f"{len(flagged)} question(s) not asked: {len(flagged)} flagged in their answer key, 0 without" in text
    assert "would stop" not in text


class Oracle:
    """Answers every kind right: the right letter, the boxed reference, HumanEval's canonical solution."""

    def __init__(self) -> None:
        self.canonical = {" ".join(p.prompt.split()): p.canonical_solution for p in humaneval_problems()}
        self.asked: list[Asked] = []

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        for item in asked:
            self.asked.append(item)
            q = item.question
            reply = {"multiple-choice": item.answer, "math": f"\\boxed{{{q.reference}}}",
                     "code": self.canonical.get(" ".join(q.text.split()))}[q.kind]  # fmt: skip
            on_answer(item, reply, 0.01)


def test_a_partial_specialists_test_gives_a_card_on_the_same_test(
    specialists_outcomes: pd.DataFrame, specialists_test: AptitudeSet, book: ReferenceBook, tmp_path: Path
) -> None:
    oracle, graders = Oracle(), GraderSet(references=book, limits=Limits(seconds=10))
    result = profile_live(oracle, specialists_outcomes, specialists_test, AnswerLog(tmp_path / "a.jsonl", "oracle"),
                          "oracle", progress=False, graders=graders, per_task=2)  # fmt: skip
    assert result.card.aptitude_fingerprint == specialists_test.fingerprint  # the router's own test
    assert [s.accuracy for s in result.card.scores] == [1.0] * len(specialists_test.tasks)
    assert {t.questions for t in result.tasks.values()} == {2} and len(result.outcomes) == 2 * len(result.tasks)
    firsts = {t.name: list(t.query_ids[:2]) for t in specialists_test.tasks}
    assert [q for t in specialists_test.tasks for q in firsts[t.name]] == list(result.outcomes["query_id"])
    assert len({(a.question.query_id, a.shift) for a in oracle.asked}) == len(oracle.asked)
    plan = plan_test(specialists_outcomes, specialists_test, graders, rotations=2, per_task=2)
    assert sum(len(v) for v in plan.asked.values()) == len(oracle.asked)
    with pytest.raises(ConfigError, match="--questions-limit must be at least 1"):
        profile_live(oracle, specialists_outcomes, specialists_test, AnswerLog(tmp_path / "b.jsonl", "o"), "o",
                     graders=graders, per_task=0)  # fmt: skip


def test_answer_key_of_an_arc_record(rows: pd.DataFrame, book: ReferenceBook) -> None:
    key = book.routerdc("routerdc/arc-challenge/test/0", row(rows, "routerdc/arc-challenge/test/0")["prompt"])
    assert isinstance(key, AnswerKey) and key.answer == "D" and len(key.options) == 4 and key.flag is None
    assert key.source == "arc_challenge_test_key.jsonl:0"


def test_a_broken_key_file_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    keys = tmp_path / "references" / "routerdc"
    keys.mkdir(parents=True)
    (keys / "mmlu_test_key.jsonl").write_text('{"i": 0, "question": "Q?", "answer": "A"}\n{"question": "no i"}\n')
    with pytest.raises(DataError, match=r"mmlu_test_key.jsonl: line 2 is not an answer-key row with an `i`"):
        ReferenceBook(tmp_path).routerdc("routerdc/mmlu/test/0", "Q?")
