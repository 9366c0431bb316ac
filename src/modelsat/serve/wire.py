"""The OpenAI chat-completions wire format: request checks, response objects, SSE framing, error bodies.

Example:
    request = ChatRequest.model_validate(body)
    turns = chat_turns(request.messages)  # [Turn(role, text), ...] for the router's RoutingTextReader
    sse_event(chat_chunk("chatcmpl-1", "echo", {"content": "hi"}))  # b'data: {...}\\n\\n'
"""

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from modelsat.router.routing.routing_text import Turn, content_text

SSE_DONE = b"data: [DONE]\n\n"


class Message(BaseModel):
    """One chat turn; `content` is a string or a list of OpenAI content parts."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of a chat-completions request the proxy reads; all others pass through untouched."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)


def message_text(message: Message) -> str:
    """The text of a message: the string itself, or its text parts joined (image and other parts skipped)."""
    return content_text(message.content)


def chat_turns(messages: Sequence[Message]) -> list[Turn]:
    """The messages as (role, text) turns, what the router's `RoutingTextReader` reads."""
    return [Turn(m.role, message_text(m)) for m in messages]


def new_id() -> str:
    """A fresh completion id in OpenAI's style."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def chat_completion(
    model: str, text: str, prompt_tokens: int, completion_tokens: int, finish_reason: str = "stop"
) -> dict[str, Any]:
    """A non-streamed `chat.completion` object with one choice."""
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def chat_chunk(
    completion_id: str, model: str, delta: dict[str, Any], finish_reason: str | None = None
) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed answer."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def sse_event(payload: dict[str, Any]) -> bytes:
    """One server-sent event carrying `payload` as JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body: {"error": {"message", "type", "param", "code"}}."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
