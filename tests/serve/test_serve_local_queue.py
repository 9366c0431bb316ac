"""The SmolLM2 backend under concurrent requests: one generation at a time, in order, and nothing sent for a
request still waiting its turn, so a stream the proxy relays is never silent for the length of a queue; a
client that goes away frees the model at its next token."""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import torch
from serve_doubles import run_http

from modelsat.serve.backend_server import create_backend_app
from modelsat.serve.local import TransformersBackend

COUNTING = [{"role": "user", "content": "Count from 1 to 300, separated by commas."}]
LONG = 120  # tokens: greedy SmolLM2 counts on well past this


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, list[int]]]:
    """SmolLM2 served over real HTTP, and a counter of its forward passes (one per generated token)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    backend = TransformersBackend.load("smollm2")
    forwards = [0]
    backend.model.register_forward_hook(lambda *_: forwards.__setitem__(0, forwards[0] + 1))
    try:
        with run_http(create_backend_app(backend, "smollm2")) as url:
            yield url, forwards
    finally:
        torch.set_num_threads(threads)


def body(max_tokens: int, stream: bool = False) -> dict[str, Any]:
    return {"model": "smollm2", "messages": COUNTING, "max_tokens": max_tokens, "temperature": 0, "stream": stream}


def test_a_queued_stream_sends_its_first_event_when_its_generation_starts(served: tuple[str, list[int]]) -> None:
    url, _ = served

    async def plain(client: httpx.AsyncClient) -> float:
        answered = await client.post("/v1/chat/completions", json=body(LONG))
        assert answered.json()["usage"]["completion_tokens"] == LONG
        return time.monotonic()

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            first = asyncio.ensure_future(plain(client))
            await asyncio.sleep(0.5)  # the plain request holds the model
            async with client.stream("POST", "/v1/chat/completions", json=body(8, stream=True)) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                async for line in lines:
                    if line.startswith("data: "):
                        first_event_at = time.monotonic()
                        break
                assert [line async for line in lines if line.startswith("data: ")][-1] == "data: [DONE]"
            return first_event_at, await first

    first_event_at, plain_done_at = asyncio.run(run())
    assert first_event_at >= plain_done_at - 0.1  # nothing was sent while the plain request generated


def test_a_client_that_goes_away_stops_its_generation(served: tuple[str, list[int]]) -> None:
    url, forwards = served

    async def run() -> int:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            async with client.stream("POST", "/v1/chat/completions", json=body(LONG, stream=True)) as response:
                pieces = 0
                async for line in response.aiter_lines():
                    if line.startswith("data: ") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                        pieces += 1
                        if pieces == 3:
                            break
            before = forwards[0]
            after = await client.post("/v1/chat/completions", json=body(2))
            assert after.status_code == 200
            return forwards[0] - before

    spent = asyncio.run(run())
    assert spent < LONG // 2  # the abandoned stream ran a few more tokens, not its remaining ~117
