"""The kind of request of a query, from its task label: one rule for every zoo's labels."""

import pandas as pd
import pytest

from modelsat.data.kinds import KINDS, kind_of, kinds_of, parse_kinds
from modelsat.errors import ConfigError

LABELS = {
    # MMLU-Pro
    "mmlu/abstract_algebra": "knowledge",
    "mmlu-pro/physics": "knowledge",
    # RouterDC
    "mmlu": "knowledge",
    "gsm8k": "math",
    "math-prealgebra": "math",
    "humaneval": "code",
    "mbpp": "code",
    "cmmlu": "chinese",
    "ceval": "chinese",
    "arc-challenge": "reasoning",
    # AlpacaEval
    "alpaca-eval/koala": "chat",
    # RouterBench's eval_names beyond the subset here
    "mmlu-high-school-physics": "knowledge",
    "hellaswag": "reasoning",
    "winogrande": "reasoning",
    "grade-school-math": "math",
    "mt-bench": "chat",
    "MBPP": "code",
}


@pytest.mark.parametrize(("label", "kind"), LABELS.items())
def test_every_zoo_label_has_its_kind(label: str, kind: str) -> None:
    assert kind_of(label) == kind


def test_chinese_exams_are_not_read_as_mmlu_and_unknown_labels_have_no_kind() -> None:
    assert kind_of("cmmlu/chinese_history") == "chinese"  # the mmlu* rule would say knowledge
    assert kind_of("my-own-benchmark") is None and kind_of("summarisation") is None
    tasks = pd.Series(["gsm8k", "mine", "gsm8k", "alpaca-eval/oasst"])
    assert kinds_of(tasks).tolist() == ["math", None, "math", "chat"]


def test_parse_kinds_names_the_unknown_kind() -> None:
    assert parse_kinds("code, knowledge,code") == ("code", "knowledge")
    with pytest.raises(ConfigError, match=r"unknown kind\(s\) 'poetry'; choose from " + ", ".join(KINDS)):
        parse_kinds("code,poetry")
    with pytest.raises(ConfigError, match="none given"):
        parse_kinds(" , ")
