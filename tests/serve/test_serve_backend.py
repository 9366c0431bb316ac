"""`modelsat backend` app (echo mode) under TestClient, and the HTTP backend client's key handling."""

import asyncio
import json

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from serve_doubles import run_http

from modelsat.errors import ConfigError
from modelsat.serve.backend_server import create_backend_app, load_backend
from modelsat.serve.backends import EchoBackend, OpenAICompatibleBackend

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one two three four"}]


@pytest.fixture
def echo() -> TestClient:
    return TestClient(create_backend_app(EchoBackend(), "echo", max_body_bytes=4096))


def test_echo_plain(echo: TestClient) -> None:
    body = echo.post("/v1/chat/completions", json={"model": "any", "messages": MESSAGES, "max_tokens": 3}).json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "echo"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Be brief. one"}
    assert body["usage"] == {"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9}


def test_echo_stream(echo: TestClient) -> None:
    with echo.stream("POST", "/v1/chat/completions", json={"model": "x", "messages": MESSAGES, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    events = [e.removeprefix("data: ") for e in raw.split("\n\n") if e]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Be brief. one two three four"
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert len({c["id"] for c in chunks}) == 1


def test_backend_models_and_errors(echo: TestClient) -> None:
    assert [m["id"] for m in echo.get("/v1/models").json()["data"]] == ["echo"]
    assert echo.post("/v1/chat/completions", json={"model": "x"}).status_code == 400
    long_message = {"role": "user", "content": "x" * 5000}
    too_big = echo.post("/v1/chat/completions", json={"model": "x", "messages": [long_message]})
    assert too_big.status_code == 413


def test_load_backend_specs() -> None:
    backend, name = load_backend("echo")
    assert isinstance(backend, EchoBackend) and name == "echo"
    with pytest.raises(ConfigError, match="use 'echo' or 'hf:<model>'"):
        load_backend("hf:")


def test_http_backend_sends_its_model_and_key() -> None:
    seen: list[tuple[str | None, str]] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict:
        seen.append((request.headers.get("authorization"), (await request.json())["model"]))
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}], "model": "upstream"}

    async def call(url: str) -> dict:
        backend = OpenAICompatibleBackend(url + "/v1/", "gpt-4o-mini", api_key="s3cret", timeout_s=5)
        try:
            return await backend.complete({"model": "modelsat", "messages": MESSAGES})
        finally:
            await backend.aclose()

    with run_http(app) as url:
        reply = asyncio.run(call(url))
    assert seen == [("Bearer s3cret", "gpt-4o-mini")]
    assert reply["choices"][0]["message"]["content"] == "ok"
