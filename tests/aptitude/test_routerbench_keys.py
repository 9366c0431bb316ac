"""RouterBench's questions graded live: the answer letters of its ARC-Challenge and WinoGrande prompts read off the
recorded replies and verdicts (checked against RouterDC's ARC answer key), its few-shot prompts asked by their last
question, and its MBPP tasks tested with RouterDC's `assert` of the same problem."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.live.graders.choice import MultipleChoiceGrader
from modelsat.aptitude.live.graders.code import CodeGrader
from modelsat.aptitude.live.graders.references import ReferenceBook
from modelsat.aptitude.live.graders.sandbox import Limits
from modelsat.aptitude.live.questions import LETTERS
from modelsat.data.importers import routerbench
from modelsat.data.importers.verdict_keys import key_from_verdicts, option_count, reply_letter

OPTION = re.compile(r"^([A-J])\) (.*)$")


@pytest.fixture(scope="module")
def queries(shared_data: Path) -> pd.DataFrame:
    """One row per RouterBench query, by query id."""
    outcomes = routerbench.load(shared_data / "routerbench-subset").outcomes
    return outcomes.drop_duplicates("query_id").set_index("query_id", drop=False)


@pytest.fixture(scope="module")
def book(shared_data: Path) -> ReferenceBook:
    return ReferenceBook(shared_data)


@pytest.mark.parametrize(
    ("votes", "n_options", "key"),
    [
        ([("B", 1.0), ("A", 0.0), (None, 1.0)], 2, "B"),  # a right reply names the key
        ([("C", 1.0), ("C", 1.0), ("A", 0.0), ("B", 0.0)], 4, "C"),
        ([("A", 0.0), ("A", 0.0)], 2, "B"),  # two options, all wrong on A: the key is B
        ([("A", 0.0), ("B", 0.0)], 2, None),  # the verdicts contradict each other
        ([("A", 0.0)], 4, None),  # ruling one of four out keys nothing
        ([("A", 1.0), ("B", 1.0)], 4, None),
        ([("A", 1.0), ("A", 0.0)], 4, None),
        ([("E", 1.0)], 4, None),  # a letter past the options
        ([("I", 0.0), ("A", 0.0)], 2, "B"),  # a reply naming no option says nothing
        ([(None, 1.0)], 2, None),
    ],
)
def test_the_key_is_kept_only_where_every_verdict_agrees(votes: list, n_options: int, key: str | None) -> None:
    assert key_from_verdicts(votes, n_options) == key


def test_replies_and_options_are_read_as_recorded() -> None:
    assert [reply_letter(r) for r in ("B", "B\n", "B)", "(C) Dennis", "D. west", "I do not know", "Bob")] == [
        "B", "B", "B", "C", "D", None, None
    ]  # fmt: skip
    prompt = "Q1\nA) x\nB) y\nAnswer:\nA\n\nQ2\nA) u\nB) v\nC) w\nPrint only a single choice without explanation."
    assert option_count(prompt) == 3  # the last block's options only
    assert option_count("Write a python function to identify non-prime numbers.") == 0
    assert option_count("Q\nB) y\nC) z") == 0  # not lettered from A


def test_arc_and_winogrande_prompts_get_keys_that_agree_with_routerdcs(
    queries: pd.DataFrame, shared_data: Path
) -> None:
    keyed = queries.groupby("task")["answer"].apply(lambda a: int(a.notna().sum())).to_dict()
    assert keyed == {"arc-challenge": 1451, "mbpp": 0, "winogrande": 1267}  # 19 ARC prompts' verdicts disagree
    routerdc = {}  # ARC stem -> the text of its right option, from RouterDC's key (rows with one right answer)
    for name in ("arc_challenge_train_key.jsonl", "arc_challenge_test_key.jsonl"):
        for line in (shared_data / "references" / "routerdc" / name).read_text().splitlines():
            row = json.loads(line)
            if not (row.get("conflict") or row.get("ambiguous_stem")):
                stem = " ".join(row["question"].removeprefix("Question:").removesuffix("Answer:").split())
                routerdc[stem] = " ".join(row["answer_text"].split()).lower()
    agree = differ = 0
    for prompt, answer in queries.loc[queries["task"] == "arc-challenge", ["prompt", "answer"]].dropna().values:
        stem, *lines = prompt.rsplit("\n\n", 1)[-1].splitlines()
        options = {m[1]: " ".join(m[2].split()).lower() for line in lines if (m := OPTION.match(line))}
        if (text := routerdc.get(" ".join(stem.split()))) is not None:
            same = text in options[answer] or options[answer] in text  # 'behavioral adaptation(s)'
            agree, differ = agree + same, differ + (not same)
    assert agree >= 1150 and differ <= 1  # the one other: a stem RouterDC asks with another set of options


def test_a_few_shot_prompt_is_asked_by_its_last_question(queries: pd.DataFrame, book: ReferenceBook) -> None:
    grader = MultipleChoiceGrader(book)
    for query_id in ("routerbench/winogrande.dev.1", "routerbench/arc-challenge.test.1"):
        record = queries.loc[query_id].to_dict()
        question = grader.question(record, "routerbench/x")
        last = record["prompt"].rsplit("\n\n", 1)[-1]
        assert question.text.endswith(last.split("\nA) ")[0]) and "Print only" not in question.options[-1]
        assert LETTERS[question.answer_index] == record["answer"]
        for asked in grader.prompts(question, rotations=2):
            assert grader.grade(asked, asked.answer).score == 1.0
            assert grader.grade(asked, LETTERS[(LETTERS.index(asked.answer) + 1) % asked.n_options]).score == 0.0


def test_mbpp_tasks_stated_alone_are_tested_with_routerdcs_assert(queries: pd.DataFrame, book: ReferenceBook) -> None:
    grader = CodeGrader(book, Limits(seconds=10))
    mbpp = queries[queries["task"] == "mbpp"]
    questions = [grader.question(record, "routerbench/mbpp") for record in mbpp.to_dict("records")]
    tested = [q for q in questions if not isinstance(q, str)]
    assert len(tested) == 130 and all("no Python tests" in q for q in questions if isinstance(q, str))
    remove_occ = next(q for q in tested if "remove first and last occurrence" in q.text)
    assert json.loads(remove_occ.reference) == {"tests": 'assert remove_Occ("hello","l") == "heo"'}
    asked = grader.prompts(remove_occ, 1)[0]
    assert 'assert remove_Occ("hello","l") == "heo"' in asked.prompt  # the test names the function to write
    solution = "```python\ndef remove_Occ(s, ch):\n    i = s.find(ch)\n    s = s[:i] + s[i + 1:]\n    j = s.rfind(ch)\n    return s[:j] + s[j + 1:]\n```"  # noqa: E501
    assert grader.grade(asked, solution).score == 1.0
    assert grader.grade(asked, "```python\ndef remove_Occ(s, ch):\n    return s\n```").score == 0.0
