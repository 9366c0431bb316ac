"""Long instructions: cut at the configured end, or refused with the instruction's index."""

import pytest
from transformers import AutoTokenizer

from modelsat.errors import RouterError
from modelsat.models.loading import resolve
from modelsat.router.config import RouterConfig
from modelsat.router.routing.llm.prompting import PromptLayout, token_ids

TEXT = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve("smollm2"))


def layout(tokenizer, **settings) -> PromptLayout:
    return PromptLayout.build(tokenizer, RouterConfig(max_instruction_tokens=8, **settings))


def test_right_truncation_keeps_the_head(tokenizer):
    (ids,), n_cut = layout(tokenizer).instruction_ids(tokenizer, [TEXT])
    assert n_cut == 1 and ids == token_ids(tokenizer, TEXT)[:8]


def test_left_truncation_keeps_the_tail(tokenizer):
    (ids,), n_cut = layout(tokenizer, truncation_side="left").instruction_ids(tokenizer, [TEXT])
    assert n_cut == 1 and ids == token_ids(tokenizer, TEXT)[-8:]
    assert tokenizer.decode(ids).strip().endswith("fourteen")


def test_short_instructions_are_untouched_and_long_ones_can_be_refused(tokenizer):
    (ids,), n_cut = layout(tokenizer).instruction_ids(tokenizer, ["one two"])
    assert n_cut == 0 and ids == token_ids(tokenizer, "one two")
    with pytest.raises(RouterError, match="instruction 1 has"):
        layout(tokenizer, on_long_instruction="error").instruction_ids(tokenizer, ["short", TEXT])
