"""One question asked in several zoos: its key across prompt formats, and the training queries another zoo tests."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers.all_zoos import zoo_of
from modelsat.data.questions import cross_zoo_questions, in_another_zoos_test, question_key, question_keys
from modelsat.data.schema import read_outcomes
from modelsat.data.splits import split_of


@pytest.fixture(scope="module")
def table(all_outcomes_file: Path) -> pd.DataFrame:
    return read_outcomes(all_outcomes_file)


def test_one_question_has_one_key_in_every_prompt_format() -> None:
    five_shot = (
        "Which gas do plants take in?\nA) oxygen\nB) carbon dioxide\nPrint only a single choice.\nAnswer:\nB\n\n"
        "Which statement describes how energy can be helpful?\nA) Lightning strikes a building.\n"
        'B) Electricity heats an oven.\nPrint only a single choice  from "A" or "B" without explanation.\nAnswer:'
    )
    routerdc = "Question:Which statement describes how energy can be helpful?\nAnswer:"
    assert question_key(five_shot) == question_key(routerdc) == "which statement describes how energy can be helpful"
    docstring = '"""\nWrite a python function to identify non-prime numbers.\nassert is_not_prime(2) == False\n"""\n'
    assert question_key(docstring) == question_key("Write a python function to identify non-prime numbers.")
    options_apart = "Which of the following will be increased in vitamin K deficiency\n\nA. calcitonin\nB. prothrombin"
    assert question_key(options_apart) == "which of the following will be increased in vitamin k deficiency"
    assert question_key("管理的二重性是指\nA. 基础性与普遍性\nB. 科学性与艺术性\n答案：") == "管理的二重性是指"
    assert question_key("def f(x):") == ""  # too short to name a question


def test_the_real_zoos_share_thousands_of_questions(table: pd.DataFrame) -> None:
    shared = table[cross_zoo_questions(table)].drop_duplicates("query_id")
    by_zoo_task = shared.groupby([zoo_of(shared["query_id"]), "task"]).size()
    # MMLU-Pro's questions from MMLU are RouterDC's MMLU questions; RouterDC's ARC set is inside RouterBench's
    assert by_zoo_task.loc["routerdc", "mmlu"] > 2_500
    assert by_zoo_task.loc["routerdc", "arc-challenge"] >= 1_170  # of its 1,172
    assert by_zoo_task.loc["routerbench", "arc-challenge"] >= 1_172
    assert by_zoo_task.loc["routerbench", "mbpp"] > 100
    assert by_zoo_task.loc["mmlu-pro"].index.str.startswith("mmlu/").all()  # MMLU-Pro's own questions are its own
    assert "alpaca-eval" not in by_zoo_task.index.get_level_values(0)


def test_training_queries_another_zoo_tests_are_found(table: pd.DataFrame) -> None:
    leaks = in_another_zoos_test(table)
    split = pd.Series(split_of(table["query_id"], table["split"]), index=table.index)
    assert set(split[leaks]) <= {"train", "validation"}
    keys = question_keys(table)
    tested = pd.DataFrame({"key": keys, "zoo": zoo_of(table["query_id"])})[(split == "test") & (keys != "")]
    for _, row in table[leaks].drop_duplicates("query_id").sample(50, random_state=0).iterrows():
        zoos = set(tested.loc[tested["key"] == question_key(row["prompt"]), "zoo"])
        assert zoos - {zoo_of(pd.Series([row["query_id"]])).iloc[0]}  # another zoo tests this question
    leaked_zoos = set(zoo_of(table.loc[leaks, "query_id"]))
    assert {"mmlu-pro", "routerdc", "routerbench"} <= leaked_zoos
    # and a training query whose question no other zoo tests is kept
    training = table[split.isin(["train", "validation"])]
    assert table.loc[leaks, "query_id"].nunique() < 0.15 * training["query_id"].nunique()
