"""Streams that break after their first event end with a `stream_interrupted` error event the `openai` SDK raises."""

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, Switch, controllable_app, run_http, serve_proxy

from modelsat.serve.streams import EventSplitter, is_done

QUESTION = [{"role": "user", "content": "prove that this integral converges for every positive exponent"}]


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def proxy(tmp_path: Path, scorer: KeywordScorer, switch: Switch) -> Iterator[tuple[openai.OpenAI, object]]:
    """The proxy in front of a controllable backend for MATH (ranked first for QUESTION) and two more."""
    with run_http(controllable_app(switch, "math-backend")) as backend:
        fields = {"base_url": backend + "/v1", "timeout_s": 5}
        with serve_proxy(tmp_path, scorer, {MATH: fields, CODE: fields, CHAT: fields}, stream_idle_s=0.5) as (url, app):
            yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=30), app


def read_stream(client: openai.OpenAI) -> str:
    stream = client.chat.completions.create(model="modelsat", messages=QUESTION, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream)


def test_a_whole_stream_has_no_error(proxy, switch: Switch) -> None:
    client, _ = proxy
    assert read_stream(client) == QUESTION[0]["content"]


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ({"break_after": 5}, "broken"),
        ({"hang_after": 5}, "idle"),
        ({"send_done": False}, "unfinished"),
    ],
    ids=["killed-mid-stream", "silent-past-stream_idle_s", "closed-without-done"],
)
def test_a_cut_stream_raises_in_the_openai_sdk(proxy, switch: Switch, setting: dict, reason: str) -> None:
    client, app = proxy
    for name, value in setting.items():
        setattr(switch, name, value)
    received: list[str] = []
    stream = client.chat.completions.create(model="modelsat", messages=QUESTION, stream=True)
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert caught.value.code == "stream_interrupted"
    assert MATH in caught.value.message and "incomplete" in caught.value.message
    assert caught.value.body["type"] == "server_error"
    if reason != "unfinished":
        assert len(received) == 5  # every whole event before the cut reached the client
    metrics = app.state.metrics.render().decode()
    assert f'modelsat_stream_interruptions_total{{model="{MATH}",reason="{reason}"}} 1.0' in metrics


def test_a_stream_killed_inside_an_event_never_sends_half_of_it() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b'data: {"a": 1}\n\ndata: {"b"') == [b'data: {"a": 1}\n\n']
    assert splitter.pending == b'data: {"b"'
    assert splitter.feed(b": 2}\r\n\r\ndata: [DONE]\n\n") == [b'data: {"b": 2}\r\n\r\n', b"data: [DONE]\n\n"]
    assert is_done(b"data: [DONE]\n\n") and not is_done(b'data: {"x": "[DONE]"}\n\n')
