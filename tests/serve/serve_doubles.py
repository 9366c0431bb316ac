"""Serve test doubles: a keyword scorer, in-process failing backends, and uvicorn on loopback in a thread."""

import asyncio
import functools
import socket
import threading
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from modelsat.models.loading import resolve
from modelsat.router.config import RouterConfig
from modelsat.router.routing.routing_text import RoutingTextReader
from modelsat.serve.backends import BackendRejected, BackendUnavailable
from modelsat.serve.config import ServeConfig, load_serve_config
from modelsat.serve.wire import SSE_DONE, chat_chunk, chat_completion, new_id, sse_event

MATH, CODE, CHAT = "mathstral-7B", "DeepSeek-Coder-V2", "Qwen1.5-7B-Chat"
KEYWORDS = {MATH: ("integral", "prove", "equation"), CODE: ("python", "function", "bug"), CHAT: ()}


@functools.cache
def default_reader() -> RoutingTextReader:
    """The default router config's reading rule over the real SmolLM2 tokenizer."""
    from transformers import AutoTokenizer

    return RoutingTextReader.for_router(AutoTokenizer.from_pretrained(resolve("smollm2")), RouterConfig())


class KeywordScorer:
    """Deterministic fake router: one point per keyword of a model found in the instruction; ties favour CHAT.
    It reads requests with the real rule (`default_reader`)."""

    def __init__(self, keywords: Mapping[str, Sequence[str]] = KEYWORDS) -> None:
        self.keywords = dict(keywords)
        self.models = list(self.keywords)
        self.reader = default_reader()
        self.calls: list[int] = []

    def score_instructions(self, instructions: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """(len(instructions), len(models)) keyword counts, +0.5 for CHAT as the default pick."""
        self.calls.append(len(instructions))
        models = list(models or self.models)
        scores = np.zeros((len(instructions), len(models)))
        for i, text in enumerate(instructions):
            for j, model in enumerate(models):
                hits = sum(word in text.lower() for word in self.keywords[model])
                scores[i, j] = hits + (0.5 if model == CHAT else 0)
        return scores


class FailingBackend:
    """A backend that always fails with `error` (BackendUnavailable or BackendRejected)."""

    def __init__(self, error: BackendUnavailable | BackendRejected) -> None:
        self.error = error
        self.calls = 0

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        raise self.error

    async def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        self.calls += 1
        raise self.error
        yield b""  # makes this an async generator

    async def aclose(self) -> None:
        """Nothing to release."""


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def run_http(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a background thread; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def misbehaving_app(delay_s: float = 0.0, status: int = 200, garbage: bool = False) -> FastAPI:
    """An 'OpenAI-compatible' server that is slow, errors, or answers non-JSON."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(delay_s)
        if garbage:
            return PlainTextResponse("<html>gateway hiccup</html>", status_code=status)
        return JSONResponse({"error": {"message": "boom", "type": "server_error", "code": None}}, status_code=status)

    return app


def write_config(tmp_path: Path, backends: Mapping[str, str | dict[str, Any]], **extra: Any) -> ServeConfig:
    """A serve.yaml in `tmp_path` with one backend per model (a base URL, or backend fields), loaded back."""
    fields = {name: {"base_url": b} if isinstance(b, str) else b for name, b in backends.items()}
    raw = {
        "router": "router",
        "cards": "cards.json",
        "backends": {name: {"model": "echo", "timeout_s": 5, **f} for name, f in fields.items()},
        **extra,
    }
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_serve_config(path)


class Switch:
    """Mutable behaviour of a `controllable_app`: how it answers from now on."""

    def __init__(self) -> None:
        self.delay_s = 0.0  # before answering (a value above the proxy's timeout_s is a hanging backend)
        self.status = 200  # 5xx: fail
        self.event_delay_s = 0.0  # between streamed events
        self.break_after: int | None = None  # streamed events before the connection drops
        self.hang_after: int | None = None  # streamed events before going silent
        self.send_done = True  # end streams with data: [DONE]
        self.calls = 0


def controllable_app(switch: Switch, name: str = "ctl") -> FastAPI:
    """An OpenAI-compatible echo server whose failures a test switches on and off (see `Switch`)."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        switch.calls += 1
        await asyncio.sleep(switch.delay_s)
        if switch.status >= 400:
            return JSONResponse({"error": {"message": "boom", "type": "server_error", "code": None}}, switch.status)
        text = body["messages"][-1]["content"]
        if not body.get("stream"):
            return JSONResponse(chat_completion(name, text, 1, len(text.split())))
        return StreamingResponse(_events(switch, name, text.split()), media_type="text/event-stream")

    return app


async def _events(switch: Switch, name: str, words: list[str]) -> AsyncGenerator[bytes, None]:
    completion_id = new_id()
    events = [chat_chunk(completion_id, name, {"role": "assistant", "content": ""})]
    events += [chat_chunk(completion_id, name, {"content": (" " if i else "") + w}) for i, w in enumerate(words)]
    events.append(chat_chunk(completion_id, name, {}, finish_reason="stop"))
    for i, event in enumerate(events):
        if switch.break_after is not None and i == switch.break_after:
            raise ConnectionResetError("backend killed mid-stream")  # uvicorn drops the connection
        if switch.hang_after is not None and i == switch.hang_after:
            await asyncio.sleep(3600)
        yield sse_event(event)
        await asyncio.sleep(switch.event_delay_s)
    if switch.send_done:
        yield SSE_DONE


@contextmanager
def serve_proxy(tmp_path: Path, scorer: Any, backends: Mapping[str, Any], **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """The proxy over real HTTP for `backends` (model -> base URL or fields), config extras as keyword arguments
    (`create_app` options go in `app_options`); yields (base URL, app)."""
    from modelsat.serve.app import create_app
    from modelsat.serve.backends import build_backends

    options = kwargs.pop("app_options", {})
    cfg = write_config(tmp_path, backends, **kwargs)
    app = create_app(cfg, scorer, build_backends(cfg, {}), config_path=tmp_path / "serve.yaml", **options)
    with run_http(app) as url:
        yield url, app
