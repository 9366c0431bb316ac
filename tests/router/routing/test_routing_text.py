"""The routing text over the real SmolLM2 tokenizer: the question first, context within its share, head and tail
of a text too long for the budget, and one rule for chats and plain instructions."""

import time
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from modelsat.models.loading import resolve
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.routing_text import MARKER, RoutingTextReader, Turn, content_text

ROUTERS = Path(__file__).resolve().parents[3] / "routers"
QUESTION = "What is the derivative of x^2 with respect to x?"
SYSTEM = "You are a careful assistant for an insurance company. Answer politely and cite the policy. " * 60
DOCUMENT = "\n\n".join(
    f"Section {i}. The committee met on Tuesday to review the annual budget. " * 12 for i in range(8)
)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve("smollm2"))


def reader(tokenizer, context_tokens: int = 0, budget: int = 160) -> RoutingTextReader:
    return RoutingTextReader(tokenizer, budget, head_tokens=32, context_tokens=context_tokens)


def count(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


def test_the_question_alone_when_context_is_off(tokenizer) -> None:
    chat = [
        Turn("system", SYSTEM),
        Turn("user", "Tell me a joke about cats."),
        Turn("assistant", "Why did the cat sit on the computer? To keep an eye on the mouse."),
        Turn("user", QUESTION),
    ]
    read = reader(tokenizer).read(chat)
    assert read.text == QUESTION
    assert read.tokens == count(tokenizer, QUESTION)
    assert read.cut
    assert reader(tokenizer).read([Turn("user", QUESTION)]).cut is False


def test_context_comes_before_the_question_in_chat_order_within_its_share(tokenizer) -> None:
    reply = "Hello! How can I help you today? " * 8
    chat = [Turn("system", SYSTEM), Turn("user", "Hi there"), Turn("assistant", reply), Turn("user", QUESTION)]
    read = reader(tokenizer, context_tokens=40).read(chat)
    assert read.text.startswith("Hello! How can I help") and read.text.endswith("\n\n" + QUESTION)
    assert read.tokens <= count(tokenizer, QUESTION) + 40
    assert "Hi there" not in read.text and "insurance" not in read.text  # newest turn first, system prompt last
    roomy = reader(tokenizer, context_tokens=120).read(chat)
    assert roomy.text.startswith("You are a careful assistant")  # chat order: system, earlier turns, question
    assert roomy.text.index("Hi there") < roomy.text.index(reply.strip()) < roomy.text.index(QUESTION)
    assert MARKER.strip() in roomy.text and roomy.tokens <= count(tokenizer, QUESTION) + 120


def test_a_long_text_keeps_its_head_and_its_tail(tokenizer) -> None:
    text = "Consider the following passage. " + "The river flooded the valley every spring. " * 80 + QUESTION
    read = reader(tokenizer).read_text(text)
    assert read.text.startswith("Consider the following passage.")
    assert read.text.endswith(QUESTION)
    assert MARKER in read.text
    assert read.tokens == count(tokenizer, read.text) <= 160
    assert read.cut


def test_a_pasted_document_gives_way_to_the_question_after_it(tokenizer) -> None:
    message = f"Here is a report:\n\n{DOCUMENT}\n\n{QUESTION}"
    assert reader(tokenizer).read_text(message).text == QUESTION
    read = reader(tokenizer, context_tokens=48).read_text(message)
    assert read.text.startswith("Here is a report:") and read.text.endswith("\n\n" + QUESTION)
    assert read.tokens <= count(tokenizer, QUESTION) + 48


def test_reading_a_routing_text_again_gives_it_back(tokenizer) -> None:
    rule = reader(tokenizer, context_tokens=48)
    for chat in ([Turn("system", SYSTEM), Turn("user", QUESTION)], [Turn("user", f"{DOCUMENT}\n\n{QUESTION}")]):
        text = rule.read(chat).text
        assert rule.read_text(text).text == text
    assert reader(tokenizer).texts([QUESTION, f"{DOCUMENT}\n\n{QUESTION}"]) == [QUESTION, QUESTION]


def test_nothing_to_read_without_user_text(tokenizer) -> None:
    rule = reader(tokenizer)
    assert rule.read([Turn("system", SYSTEM), Turn("user", "   \n ")]).text == ""
    assert rule.read([Turn("assistant", "hello")]).text == ""
    assert rule.read([]).text == ""
    assert rule.read([Turn("user", QUESTION), Turn("user", " ")]).text == QUESTION  # the last user turn with text


def test_content_parts_give_their_text_only() -> None:
    parts = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "What is in this picture?"},
        {"type": "text", "text": 7},
        "stray",
    ]
    assert content_text(parts) == "What is in this picture?"
    assert content_text(None) == "" and content_text("plain") == "plain"


def test_a_100k_token_message_is_read_fast_within_the_budget(tokenizer) -> None:
    message = "lorem ipsum dolor sit amet " * 20_000 + QUESTION
    started = time.perf_counter()
    read = reader(tokenizer).read_text(message)
    assert time.perf_counter() - started < 1.0  # only the head and the tail are tokenised
    assert read.tokens <= 160 and read.text.endswith(QUESTION)


def test_every_shipped_router_config_loads_with_the_reading_fields() -> None:
    for router in sorted(p for p in ROUTERS.iterdir() if (p / "config.yaml").is_file()):
        cfg, _ = read_router_config(router)
        assert 0 <= cfg.router.truncation_head_tokens < cfg.router.max_instruction_tokens
        assert cfg.router.context_tokens == 0
    default_cfg, _ = read_router_config(ROUTERS / "default")
    assert default_cfg.router.truncation_head_tokens == 32  # the question's head and its end
