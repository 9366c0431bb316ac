"""A loopback server speaking the OpenAI chat-completion API, with injectable faults (test double)."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response


@dataclass
class FakeOpenAI:
    """State of the loopback chat-completion server: how it answers, faults to inject, requests seen."""

    url: str
    key: str = "good-key"
    reply: Callable[[str], str] = lambda prompt: "A"
    faults: list[str] = field(default_factory=list)  # consumed one per request: timeout, 500, garbage, no-letter
    refuse_after: int | None = None  # answer 401 once this many requests were answered
    delay: float = 0.0
    requests: int = 0  # authorised requests
    answered: int = 0


def oracle_reply(correct: dict[str, str]) -> Callable[[str], str]:
    """A model that always knows: finds the letter whose option text is the right one."""

    def reply(prompt: str) -> str:
        question = prompt.split("Question: ", 1)[1].rsplit("\nA. ", 1)[0]
        options = {line[3:]: line[0] for line in prompt.splitlines() if len(line) > 2 and line[1:3] == ". "}
        return f"The answer is {options[correct[question]]}."

    return reply


def make_app(state: FakeOpenAI) -> FastAPI:
    """A FastAPI app speaking the OpenAI chat-completion API, driven by `state`."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        refused = state.refuse_after is not None and state.answered >= state.refuse_after
        if request.headers.get("authorization") != f"Bearer {state.key}" or refused:
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        state.requests += 1  # authorised requests only, so a late one from an earlier run with another key is not
        fault = state.faults.pop(0) if state.faults else None
        if fault == "timeout":
            await asyncio.sleep(2.0)
        if fault == "500":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
        if fault == "garbage":
            return PlainTextResponse("<html>not json</html>")
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        await asyncio.sleep(state.delay)
        state.answered += 1
        content = "I cannot tell." if fault == "no-letter" else state.reply(prompt)
        return JSONResponse({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

    return app
