"""What real clients send, through the proxy: long system prompts, chat turns, pasted documents, empty and
whitespace-only messages, image parts and a 100k-token message give a routed answer or a clear 400, never a 500."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, write_config

from modelsat.serve.app import create_app
from modelsat.serve.backends import EchoBackend

URLS = {MATH: "http://127.0.0.1:9/v1", CODE: "http://127.0.0.1:9/v1", CHAT: "http://127.0.0.1:9/v1"}
SYSTEM = "You are a senior python engineer. Find the bug in every function you are shown. " * 100  # ~1,700 tokens
QUESTION = "Prove that the equation x^2 = 2 has no rational root."
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


@pytest.fixture
def client(tmp_path: Path, scorer: KeywordScorer) -> Iterator[TestClient]:
    backends = {name: EchoBackend(name) for name in URLS}
    with TestClient(create_app(write_config(tmp_path, URLS), scorer, backends)) as client:
        yield client


def route(client: TestClient, messages: list[dict]) -> dict:
    response = client.post("/v1/route", json={"messages": messages})
    assert response.status_code == 200, response.text
    return response.json()


def tokens(scorer: KeywordScorer, text: str) -> int:
    return len(scorer.reader.tokenizer.encode(text, add_special_tokens=False))


def test_a_long_system_prompt_does_not_decide_the_route(client: TestClient, scorer: KeywordScorer) -> None:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    body = route(client, messages)
    assert body["model"] == MATH  # the system prompt names python, bug and function; the question is maths
    assert body["routing_text"] == QUESTION
    assert body["routing_tokens"] == tokens(scorer, QUESTION)
    reply = client.post("/v1/chat/completions", json={"model": "modelsat", "messages": messages})
    assert reply.status_code == 200
    assert reply.headers["x-modelsat-model"] == MATH
    assert reply.headers["x-modelsat-routing-tokens"] == str(tokens(scorer, QUESTION))


def test_earlier_turns_and_a_pasted_document_give_way_to_the_question(client: TestClient) -> None:
    turns = [
        {"role": "user", "content": "Write a python function that parses dates."},
        {"role": "assistant", "content": "def parse(text): ...  # there is a bug here"},
        {"role": "user", "content": "Thanks! Now something else."},
        {"role": "assistant", "content": "Sure, go ahead."},
        {"role": "user", "content": QUESTION},
    ]
    assert route(client, turns)["model"] == MATH
    document = "\n\n".join(f"def handler_{i}(event):\n    return python_bug_{i}(event)" * 20 for i in range(30))
    pasted = route(client, [{"role": "user", "content": f"{document}\n\n{QUESTION}"}])
    assert (pasted["model"], pasted["routing_text"]) == (MATH, QUESTION)


def test_empty_and_whitespace_messages_route_by_the_last_user_text(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": ""},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "  \n\t "},
    ]
    body = route(client, messages)
    assert (body["model"], body["routing_text"]) == (MATH, QUESTION)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": ""}],
        [{"role": "user", "content": "   \n "}],
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": None}],
        [{"role": "user", "content": [IMAGE]}],
        [{"role": "user", "content": [{"type": "text", "text": 7}]}],
    ],
)
def test_nothing_to_route_is_a_400_naming_messages(client: TestClient, messages: list[dict]) -> None:
    for endpoint, body in (
        ("/v1/route", {"messages": messages}),
        ("/v1/chat/completions", {"model": "modelsat", "messages": messages}),
    ):
        response = client.post(endpoint, json=body)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "messages"


def test_image_parts_are_skipped_and_the_text_routes(client: TestClient) -> None:
    body = route(client, [{"role": "user", "content": [IMAGE, {"type": "text", "text": QUESTION}]}])
    assert (body["model"], body["routing_text"]) == (MATH, QUESTION)
    response = client.post("/v1/route", json={"messages": [{"role": "user", "content": [IMAGE, "a bare string"]}]})
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("messages.0.content")


def test_a_100k_token_message_is_routed_on_its_head_and_tail(client: TestClient, scorer: KeywordScorer) -> None:
    message = "lorem ipsum dolor sit amet " * 20_000 + QUESTION
    assert tokens(scorer, message) > 100_000
    body = route(client, [{"role": "user", "content": message}])
    assert body["model"] == MATH
    assert body["routing_text"].startswith("lorem ipsum") and body["routing_text"].endswith(QUESTION)
    assert body["routing_tokens"] <= scorer.reader.budget


def test_the_log_gives_the_routing_text_size(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="modelsat.serve.app"):
        route(client, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}])
    assert any(r.getMessage().startswith("routing text: ") and "tokens" in r.getMessage() for r in caplog.records)
    assert not any(QUESTION in r.getMessage() for r in caplog.records)  # prompts stay private without --log-prompts
