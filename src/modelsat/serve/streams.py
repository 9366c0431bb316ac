"""Relaying a backend's event stream so that a cut answer never looks like a whole one.

Once a stream's first event has reached the client the proxy cannot fall back to another model. If the
backend then breaks off (connection lost, an error), goes silent for `stream_idle_s`, or closes without
`data: [DONE]`, the relay ends the stream with an OpenAI-style error event instead of just stopping:
`data: {"error": {"message": "...", "type": "server_error", "code": "stream_interrupted", ...}}`, which
the `openai` SDK raises as `openai.APIError`. Events are relayed whole and unchanged (bytes split at event
boundaries), so the error event never lands inside a half-sent one.

Example:
    async for chunk in relay_events(first, chunks, model="mathstral-7B", idle_s=30, on_break=count):
        yield chunk
"""

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from modelsat.errors import BackendError
from modelsat.serve.wire import error_body, sse_event

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_DONE = re.compile(rb"^data: ?\[DONE\]\s*$", re.MULTILINE)
INTERRUPTED = "stream_interrupted"


class EventSplitter:
    """Cuts a byte stream into whole server-sent events (each with its blank-line terminator)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The events completed by `chunk`; a partial event is kept for the next call."""
        self._buffer += chunk
        events = []
        while match := _EVENT_END.search(self._buffer):
            events.append(self._buffer[: match.end()])
            self._buffer = self._buffer[match.end() :]
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event not finished yet."""
        return self._buffer


def is_done(event: bytes) -> bool:
    """Whether `event` is the `data: [DONE]` that ends an OpenAI stream."""
    return _DONE.search(event) is not None


def interrupted_event(model: str, events: int, reason: str) -> bytes:
    """The error event that ends a stream cut after `events` events."""
    message = f"the answer from {model} was interrupted after {events} event(s) ({reason}); it is incomplete"
    return sse_event(error_body(message, "server_error", INTERRUPTED))


async def relay_events(
    first: bytes,
    chunks: AsyncIterator[bytes],
    *,
    model: str,
    idle_s: float,
    on_break: Callable[[str, str], None],
) -> AsyncGenerator[bytes, None]:
    """Whole events of `first` + `chunks`; ends with an error event (and calls `on_break(kind, reason)`, kind
    `broken`, `idle` or `unfinished`) when the backend breaks off, is silent for `idle_s` seconds, or ends
    without `[DONE]`."""
    splitter = EventSplitter()
    sent = 0
    pending = [first]
    kind, reason = "unfinished", "the backend closed the stream without [DONE]"
    try:
        while True:
            for chunk in pending:
                for event in splitter.feed(chunk):
                    yield event
                    sent += 1
                    if is_done(event):
                        return
            try:
                pending = [await asyncio.wait_for(anext(chunks), idle_s)]
            except StopAsyncIteration:
                break
    except TimeoutError:
        kind, reason = "idle", f"no event for {idle_s:g} s"
    except BackendError as exc:
        kind, reason = "broken", str(exc)
    on_break(kind, reason)
    yield interrupted_event(model, sent, reason)
