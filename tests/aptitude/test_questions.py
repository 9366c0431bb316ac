"""Prompts, the circle test's option rotation, reply parsing and the resumable answer log."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.live.answer_log import Answer, AnswerLog
from modelsat.aptitude.live.plan import GraderSet, plan_test
from modelsat.aptitude.live.questions import LETTERS, Question, circle, embedded_options, parse_letter
from modelsat.errors import DataError


def option_line(prompt: str, letter: str) -> str:
    """The text of option `letter` in a prompt."""
    return next(line[3:] for line in prompt.splitlines() if line.startswith(f"{letter}. "))


def test_questions_come_from_the_outcomes_rows(aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame) -> None:
    questions = plan_test(mmlu_outcomes, aptitude, GraderSet(), rotations=2).questions
    assert len(questions) == 1000 and {q.kind for q in questions} == {"multiple-choice"}
    assert [q.query_id for q in questions[:20]] == list(aptitude.tasks[0].query_ids)
    assert max(len(q.options) for q in questions) == 10
    with pytest.raises(DataError, match=f"aptitude question {questions[0].query_id} .* not in the outcomes table"):
        plan_test(mmlu_outcomes[mmlu_outcomes["query_id"] != questions[0].query_id], aptitude, GraderSet(), 2)


def test_rotations_move_the_right_option_and_keep_its_text(aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame) -> None:
    for question in plan_test(mmlu_outcomes, aptitude, GraderSet(), rotations=2).questions[:40]:
        asked = circle(question, rotations=2)
        right = question.options[question.answer_index]
        n = len(question.options)
        assert [a.shift for a in asked] == [0, n // 2]
        assert asked[0].answer == LETTERS[question.answer_index]
        assert asked[0].answer != asked[1].answer
        assert all(option_line(a.prompt, a.answer) == right for a in asked)
        assert asked[0].prompt.endswith("Answer:")
    assert len(circle(question, rotations=1)) == 1


def test_circle_never_repeats_a_shift() -> None:
    question = Question("q", "mmlu/x", "2 + 2?", ("3", "4"), 1)
    assert [a.shift for a in circle(question, rotations=4)] == [0, 1]
    assert [a.answer for a in circle(question, rotations=4)] == ["B", "A"]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        ("B. 42", "B"),
        ("(C) because", "C"),
        ("The answer is D.", "D"),
        ("A good answer is C", "C"),
        ("Answer: (E)", "E"),
        ("Let's see. The answer is (C).\n\nQuestion: next one\nAnswer: A", "C"),
        ("The answer is b", None),  # a lowercase word is not an option letter
        ("I think so", None),
        ("J", None),  # only 4 options offered
        ("", None),
    ],
)
def test_parse_letter(reply: str, letter: str | None) -> None:
    assert parse_letter(reply, n_options=4 if reply == "J" else 10) == letter


def test_answer_log_resumes_skips_torn_lines_and_guards_the_model(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    log = AnswerLog(path, model="m")
    log.append(Answer("q1", 0, "A", 0.1, "graded", 1.0, "A"))
    log.append(Answer("q1", 5, None, 0.1, "unparsed", 0.0))
    log.close()
    with path.open("a") as handle:
        handle.write('{"model": "m", "query_id": "q2", "sh')  # killed mid-write
    again = AnswerLog(path, model="m")
    assert again.done == {("q1", 0), ("q1", 5)} and again.torn_lines == 1
    assert again.answers[("q1", 5)].malformed
    again.append(Answer("q2", 0, "C", 0.2, "graded", 0.0, "C"))
    again.close()
    assert AnswerLog(path, model="m").done == {("q1", 0), ("q1", 5), ("q2", 0)}
    with pytest.raises(DataError, match="answers of model 'm', not 'other'"):
        AnswerLog(path, model="other")


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("Which?\nA. one\nB. two", ("Which?", ("one", "two"))),
        (
            "运行中变压器温度最高的部分是\nA. 绕组\nB. 变压器油\nC. 引线\nD. 铁芯\n答案：",
            ("运行中变压器温度最高的部分是", ("绕组", "变压器油", "引线", "铁芯")),
        ),
        (
            "求问传送时要添加几个0____\nA. 1\nB. 2\nC. 3\nD. 4答案：",
            ("求问传送时要添加几个0____", ("1", "2", "3", "4")),
        ),
        ("Question:Which is an example of condensation?\nAnswer:", None),  # RouterDC's ARC: no options
        ("Pick one\nB. two\nA. one", None),  # not lettered in order
        ("E.F. Schumacher said so.\nA. Equivocation\nB. Inconsistency", ("E.F. Schumacher said so.",
                                                                       ("Equivocation", "Inconsistency"))),
        ("A、B两只青蛙跳跃\nA. 6\nB. 2\n答案：", ("A、B两只青蛙跳跃", ("6", "2"))),  # a stem line like an option
        ("输出为____。\nA. x has 0.\ny has 3.\nB. x has 4.\ny has 4.答案：",
         ("输出为____。", ("x has 0.\ny has 3.", "x has 4.\ny has 4."))),  # options running over two lines
        ("A. alone\nSome text after it.", None),  # one option is no list
    ],
)
def test_embedded_options(text: str, split: tuple | None) -> None:
    assert embedded_options(text) == split
