"""One question asked in several zoos: a key from its text, so that every zoo's answers to it are found together
and a router trained on every zoo never trains on a question another zoo tests on.

The zoos of the data folder share questions under different query ids and prompt formats: MMLU-Pro took
thousands of its questions from MMLU, which RouterDC's zoo answers too; RouterBench's five-shot ARC-Challenge
prompts end with the questions of RouterDC's ARC set; both ask MBPP's problems (RouterDC inside a docstring with
its test, RouterBench as one line). The key is the question a prompt asks, read the same way for every format:
the last paragraph of the prompt without its option, answer-cue, docstring-quote and `assert` lines (a few-shot
prompt asks its question last), after its last `Question:` cue, in lower-case words.
A key of fewer than `MIN_WORDS` words (or `MIN_CJK` Chinese characters) names no question (a code stub, a
one-word prompt). A key is the question's words, not its options: two questions with one generic stem ("Which
of the following is true?") share a key, which errs on the side of leaving a training query out.
Splits are the queries' effective ones (`data/splits.py`: declared, else hashed).

Example:
    keys = question_keys(outcomes)                   # one key per row, "" when there is none
    shared = cross_zoo_questions(outcomes)           # rows whose question another zoo also asks
    leaks = in_another_zoos_test(outcomes)               # train/validation rows whose question a zoo tests on
    print(shared_note(outcomes))                     # what `modelsat import all` says of them
"""

import re

import pandas as pd

from modelsat.data.importers.all_zoos import zoo_of
from modelsat.data.splits import split_of

MIN_WORDS = 4
MIN_CJK = 6
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_QUESTION = re.compile(r'\s*(?:[A-J][.)]\s|"""|assert |Print only|Answer:|答案)')  # options, cues, tests
_ANSWER_CUE = re.compile(r"Answer:|答案")
_NOT_WORDS = re.compile(r"\W+")


def question_key(prompt: str) -> str:
    """The question `prompt` asks, as lower-case words ("" when under `MIN_WORDS` words)."""
    lines = [line for line in str(prompt).splitlines() if not _NOT_QUESTION.match(line)]
    blocks = [b for b in re.split(r"\n\s*\n", "\n".join(lines).strip()) if b.strip()]
    question = blocks[-1] if blocks else ""
    cue = question.rfind("Question:")
    if cue >= 0:
        question = question[cue + len("Question:") :]
    question = _ANSWER_CUE.split(question)[0]
    key = _NOT_WORDS.sub(" ", question.lower()).strip()
    long_enough = len(key.split()) >= MIN_WORDS or len(_CJK.findall(key)) >= MIN_CJK
    return key if long_enough else ""


def question_keys(outcomes: pd.DataFrame) -> pd.Series:
    """`question_key` of every row's prompt, computed once per query."""
    first = outcomes.drop_duplicates("query_id").set_index("query_id")["prompt"]
    return outcomes["query_id"].map(first.map(question_key))


def cross_zoo_questions(outcomes: pd.DataFrame) -> pd.Series:
    """Per row: whether another zoo asks its question too."""
    keys = question_keys(outcomes)
    zoos = pd.DataFrame({"key": keys, "zoo": zoo_of(outcomes["query_id"])})
    shared = zoos[zoos["key"] != ""].groupby("key")["zoo"].nunique()
    return keys.map(shared).fillna(0).gt(1)


def in_another_zoos_test(outcomes: pd.DataFrame) -> pd.Series:
    """Per row: a train or validation row whose question is a test question of another zoo."""
    keys = question_keys(outcomes)
    zoos = zoo_of(outcomes["query_id"])
    declared = outcomes.get("split")
    split = pd.Series(split_of(outcomes["query_id"], declared), index=outcomes.index)
    tests = pd.DataFrame({"key": keys, "zoo": zoos})[(split == "test") & (keys != "")]
    testing_zoos = tests.groupby("key")["zoo"].agg(frozenset)
    tested_by = keys.map(testing_zoos)
    other = [isinstance(z, frozenset) and bool(z - {own}) for z, own in zip(tested_by, zoos, strict=True)]
    return pd.Series(other, index=outcomes.index) & split.isin(["train", "validation"])


def shared_note(outcomes: pd.DataFrame) -> str:
    """One sentence on the questions the zoos of `outcomes` share, for `modelsat import all`."""
    shared = cross_zoo_questions(outcomes)
    leaks = in_another_zoos_test(outcomes)
    queries = outcomes.loc[shared, "query_id"].nunique()
    by_zoo = zoo_of(outcomes.loc[leaks, "query_id"].drop_duplicates()).value_counts()
    leaked = ", ".join(f"{zoo} {count:,}" for zoo, count in by_zoo.items()) or "none"
    return (
        f"{queries:,} queries ask a question another zoo asks too; train/validation queries whose question another "
        f"zoo tests on (a router trained on every zoo must leave them out): {leaked}"
    )
