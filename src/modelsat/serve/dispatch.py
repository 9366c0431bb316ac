"""Sending a request down the ranking: skip backends that cool down, fall back on failures, relay streams.

The one loop that owns every retry decision (the HTTP client's own retries are off): a backend timeout,
connection error, 5xx or non-JSON reply moves the request to the next available model (a *fallback*, at
most `fallbacks` of them), and is reported to the `HealthBoard`, which takes a backend that keeps failing
out of every pick (a *cool-down*); a 4xx is the request's fault and passes through. A stream can only fall
back before its first event; after that a failure ends it with an error event (`serve/streams.py`).

Example:
    dispatcher = Dispatcher(metrics, board, MemoryState())
    response = await dispatcher.answer(serving, body, stream=False, ranked=["a", "b"], headers={}, key="team")
"""

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi.responses import JSONResponse, Response, StreamingResponse

from modelsat.serve.api import APIError
from modelsat.serve.backends import BackendRejected, BackendUnavailable
from modelsat.serve.health import HealthBoard
from modelsat.serve.metrics import Metrics
from modelsat.serve.reload import ServingSet
from modelsat.serve.state import SharedState, Usage
from modelsat.serve.streams import relay_events

log = logging.getLogger(__name__)


class Dispatcher:
    """Answers a ranked request from the first backend that can."""

    def __init__(self, metrics: Metrics, board: HealthBoard, state: SharedState) -> None:
        self.metrics = metrics
        self.board = board
        self.state = state  # where each answered request's usage is counted

    async def answer(
        self,
        serving: ServingSet,
        body: dict[str, Any],
        stream: bool,
        ranked: list[str],
        headers: dict[str, str],
        key: str | None,
        fallbacks: int | None = None,
    ) -> Response:
        """Try the available models of `ranked`, best first, up to 1 + `fallbacks` (default: the config's).

        Raises:
            APIError: 502 when no backend answered (with `Retry-After` when some were cooling down).
        """
        tries = 1 + (serving.cfg.fallbacks if fallbacks is None else fallbacks)
        available = [m for m in ranked if self.board.available(m)]
        skipped = [m for m in ranked if m not in available]
        if skipped:
            headers = {**headers, "x-modelsat-skipped": ", ".join(f"{m}=cooling-down" for m in skipped)}
        failures: list[str] = []
        for model in available[:tries]:
            backend = serving.backends[model]
            start = time.perf_counter()
            try:
                if stream:
                    chunks = backend.stream(body)
                    first = await anext(chunks, b"")
                    if not first:
                        raise BackendUnavailable("invalid-response", "empty stream")
                else:
                    reply = await backend.complete(body)
            except BackendUnavailable as exc:
                self.metrics.backend_errors.labels(model=model, reason=exc.reason).inc()
                self.board.failed(model, exc.reason)
                log.warning("backend %s failed (%s)", model, exc)
                failures.append(f"{model}={exc.reason}")
                continue
            except BackendRejected as exc:
                self.metrics.backend_errors.labels(model=model, reason=f"http-{exc.status}").inc()
                return JSONResponse(exc.body, status_code=exc.status, headers={**headers, "x-modelsat-model": model})
            elapsed = time.perf_counter() - start
            self.metrics.backend_seconds.labels(model=model).observe(elapsed)
            headers = {**headers, "x-modelsat-model": model, "x-modelsat-backend-ms": f"{elapsed * 1000:.2f}"}
            if failures:
                headers["x-modelsat-fallback"] = ", ".join(failures)
                self.metrics.fallbacks.inc()
            log.info("answered by %s in %.0f ms%s", model, elapsed * 1000, f" after {failures}" if failures else "")
            if stream:
                self.state.record(key, model, Usage(1))
                relayed = self._relay(first, chunks, model, serving.cfg.stream_idle_s)
                return StreamingResponse(relayed, media_type="text/event-stream", headers=headers)
            reply["model"] = model
            self._count_cost(serving, model, reply, key)
            return JSONResponse(reply, headers=headers)
        tried = ", ".join(failures + [f"{m}=cooling-down" for m in skipped])
        error_headers = {**headers, "x-modelsat-fallback": tried}
        if skipped:
            error_headers["retry-after"] = str(self.board.retry_after(skipped))
        raise APIError(
            502, f"no backend answered (tried {tried})", "backend_error", "backends_unavailable", None, error_headers
        )

    async def _relay(
        self, first: bytes, chunks: AsyncGenerator[bytes, None], model: str, idle_s: float
    ) -> AsyncIterator[bytes]:
        def broke(kind: str, detail: str) -> None:
            self.metrics.stream_interruptions.labels(model=model, reason=kind).inc()
            self.board.failed(model, f"stream-{kind}")
            log.warning("stream from %s interrupted (%s); the client gets a stream_interrupted error", model, detail)

        try:
            async for event in relay_events(first, chunks, model=model, idle_s=idle_s, on_break=broke):
                yield event
        finally:
            await chunks.aclose()

    def _count_cost(self, serving: ServingSet, model: str, reply: dict[str, Any], key: str | None) -> None:
        price = serving.cfg.backends[model].price
        usage = reply.get("usage")
        if not isinstance(usage, dict):
            self.state.record(key, model, Usage(1))
            return
        tokens_in, tokens_out = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        cost = 0.0 if price is None else (tokens_in * price.input + tokens_out * price.output) / 1e6
        self.state.record(key, model, Usage(1, tokens_in, tokens_out, cost))
        if price is None:
            return
        self.metrics.cost.labels(model=model).inc(cost)
        if key is not None:
            self.metrics.key_cost.labels(key=key).inc(cost)
        strongest = serving.cfg.strongest_model()
        if strongest is not None:
            dearest = serving.cfg.backends[strongest].price
            self.metrics.strongest_cost.inc((tokens_in * dearest.input + tokens_out * dearest.output) / 1e6)
