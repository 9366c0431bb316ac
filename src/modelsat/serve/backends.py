"""Backends answer chat-completion bodies: any OpenAI-compatible HTTP endpoint, or an in-process echo.

A backend owns its model name (it sets `model` in the body it sends). Retryable failures (timeout,
connection refused, 5xx, a reply that is not JSON) raise `BackendUnavailable`, which the proxy answers by
trying the next-ranked model; a 4xx raises `BackendRejected`, which is the caller's fault and passes through.
HTTP backends use httpx2 (httpx's successor, as the openai client does): httpx 0.28's connection pool checks
every open connection's socket on each request, which cost a loaded proxy a tenth of its CPU (docs/router.md).

Example:
    backend = OpenAICompatibleBackend("http://127.0.0.1:8101/v1", "smollm2", api_key=None, timeout_s=30)
    reply = await backend.complete({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})
    async for chunk in backend.stream({...}):  # raw server-sent-event bytes, relayed unchanged
        ...
"""

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Protocol

import httpx2

from modelsat.errors import BackendError
from modelsat.serve.config import ServeConfig, api_key
from modelsat.serve.wire import (
    SSE_DONE,
    ChatRequest,
    chat_chunk,
    chat_completion,
    error_body,
    message_text,
    new_id,
    sse_event,
)


class BackendUnavailable(BackendError):
    """A retryable failure; `reason` is short and safe to put in headers and metrics (e.g. `timeout`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class BackendRejected(BackendError):
    """The backend refused the request (4xx); its status and body go back to the client unchanged."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"backend answered {status}")
        self.status = status
        self.body = body


class Backend(Protocol):
    """Something that answers OpenAI chat-completion request bodies."""

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The `chat.completion` object for `body` (its `model` field is ignored)."""
        ...

    def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """Server-sent-event bytes for `body`; failures surface before the first chunk where possible."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class OpenAICompatibleBackend:
    """An OpenAI-compatible `/chat/completions` endpoint (vLLM, llama.cpp, OpenAI, `modelsat backend`, ...)."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout_s: float) -> None:
        self.model = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx2.Limits(max_connections=256, max_keepalive_connections=64)
        self._client = httpx2.AsyncClient(headers=headers, timeout=timeout_s, limits=limits)

    def _body(self, body: Mapping[str, Any], stream: bool) -> dict[str, Any]:
        return {**body, "model": self.model, "stream": stream}

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST the body and return the parsed completion."""
        try:
            response = await self._client.post(self._url, json=self._body(body, stream=False))
        except httpx2.TimeoutException as exc:
            raise BackendUnavailable("timeout", type(exc).__name__) from exc
        except httpx2.TransportError as exc:
            raise BackendUnavailable("unreachable", type(exc).__name__) from exc
        _raise_for_status(response.status_code, response.content)
        try:
            reply = response.json()
        except ValueError as exc:
            raise BackendUnavailable("invalid-response", "body is not JSON") from exc
        if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
            raise BackendUnavailable("invalid-response", "no choices in the reply")
        return reply

    async def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """POST with `stream: true` and yield the raw event-stream bytes."""
        request = self._client.build_request("POST", self._url, json=self._body(body, stream=True))
        try:
            response = await self._client.send(request, stream=True)
        except httpx2.TimeoutException as exc:
            raise BackendUnavailable("timeout", type(exc).__name__) from exc
        except httpx2.TransportError as exc:
            raise BackendUnavailable("unreachable", type(exc).__name__) from exc
        try:
            if response.status_code >= 400:
                _raise_for_status(response.status_code, await response.aread())
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise BackendUnavailable("invalid-response", "not an event stream")
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx2.TimeoutException as exc:
            raise BackendUnavailable("timeout", type(exc).__name__) from exc
        except httpx2.TransportError as exc:
            raise BackendUnavailable("unreachable", type(exc).__name__) from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _raise_for_status(status: int, content: bytes) -> None:
    """5xx -> BackendUnavailable (retry elsewhere); 4xx -> BackendRejected (the client's request is at fault)."""
    if status >= 500:
        raise BackendUnavailable(f"http-{status}")
    if status >= 400:
        try:
            body: Any = json.loads(content)
        except ValueError:
            body = error_body(content.decode(errors="replace")[:500], "backend_error", None)
        raise BackendRejected(status, body)


class EchoBackend:
    """Answers with the system text and the last user message: for tests, demos and load benchmarks."""

    def __init__(self, name: str = "echo") -> None:
        self.model = name

    def _reply(self, body: Mapping[str, Any]) -> tuple[str, int]:
        request = ChatRequest.model_validate({**body, "model": self.model})
        system = [message_text(m) for m in request.messages if m.role in ("system", "developer")]
        users = [message_text(m) for m in request.messages if m.role == "user"]
        text = "\n\n".join(t for t in [*system, *users[-1:]] if t.strip())  # system text + last user message
        words = text.split()
        if request.max_tokens is not None:
            words = words[: request.max_tokens]
        return " ".join(words), len(text.split())

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The instruction as a completion (truncated to `max_tokens` words)."""
        text, prompt_tokens = self._reply(body)
        return chat_completion(self.model, text, prompt_tokens, len(text.split()))

    async def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """The instruction streamed one word per event, then a finish event and `[DONE]`."""
        text, _ = self._reply(body)
        completion_id = new_id()
        yield sse_event(chat_chunk(completion_id, self.model, {"role": "assistant", "content": ""}))
        for i, word in enumerate(text.split()):
            yield sse_event(chat_chunk(completion_id, self.model, {"content": word if i == 0 else " " + word}))
        yield sse_event(chat_chunk(completion_id, self.model, {}, finish_reason="stop"))
        yield SSE_DONE

    async def aclose(self) -> None:
        """Nothing to release."""


def build_backends(cfg: ServeConfig, environ: Mapping[str, str]) -> dict[str, Backend]:
    """One HTTP backend per configured model, API keys read from `environ`.

    Raises:
        ConfigError: when a backend's `api_key_env` variable is unset.
    """
    return {
        name: OpenAICompatibleBackend(str(b.base_url), b.model, api_key(b, environ), b.timeout_s)
        for name, b in cfg.backends.items()
    }
