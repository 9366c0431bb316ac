"""OpenAI-compatible chat-completion client that takes the aptitude test (httpx, async).

Up to `concurrency` requests run at once; timeouts, connection errors, HTTP 429 and 5xx are
retried with exponential backoff; a refused key (401/403) stops the run with a clear error. A
reply without a usable option letter is recorded as a malformed (wrong) answer, and counted.

Example:
    client = EndpointClient("http://127.0.0.1:8000/v1", "llama-3-8b", api_key=os.environ.get("OPENAI_API_KEY"))
    client.answer(asked, on_answer=lambda item, letter, seconds: ...)
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from modelsat.aptitude.live.questions import Asked, parse_letter
from modelsat.errors import BackendError

log = logging.getLogger(__name__)


class EndpointClient:
    """Asks each prompt as one chat completion and parses the letter it answers (an `Answerer`)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_tokens: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_tokens = max_tokens

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Ask every item concurrently, calling `on_answer(item, letter or None, seconds)` as replies arrive.

        Raises:
            BackendError: the key was refused, the request was rejected, or retries ran out.
        """
        asyncio.run(self._answer_all(asked, on_answer))

    async def _answer_all(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Run all requests under a semaphore; the first fatal error cancels the rest."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limit = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:

            async def one(item: Asked) -> None:
                async with limit:
                    began = time.perf_counter()
                    letter = await self._ask(client, item)
                    on_answer(item, letter, time.perf_counter() - began)

            tasks = [asyncio.create_task(one(item)) for item in asked]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()

    async def _ask(self, client: httpx.AsyncClient, item: Asked) -> str | None:
        """One question with retries; the parsed letter, or None for a malformed reply."""
        payload = {
            "model": self.model,
            "messages": [{"role": "user", "content": item.prompt}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await client.post("/chat/completions", json=payload)
            except httpx.TransportError as exc:  # timeouts and refused/reset connections
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in (401, 403):
                raise BackendError(
                    f"{self.base_url} refused the API key (HTTP {response.status_code}); "
                    "set the key in the variable named by --api-key-env (default OPENAI_API_KEY)"
                )
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise BackendError(
                    f"{self.base_url} rejected the request (HTTP {response.status_code}): {response.text[:200]}"
                )
            return self._letter(response, item)
        raise BackendError(
            f"{self.base_url}: no answer to {item.question.query_id} after {self.max_retries + 1} attempts "
            f"(last: {last}); answers so far are saved, re-run to resume"
        )

    def _letter(self, response: httpx.Response, item: Asked) -> str | None:
        """The option letter in a chat-completion reply, or None (a malformed reply, logged)."""
        try:
            body: Any = response.json()
            content = body["choices"][0]["message"]["content"]
            letter = parse_letter(content, item.n_options) if isinstance(content, str) else None
        except (ValueError, KeyError, IndexError, TypeError):
            letter = None
        if letter is None:
            log.warning("malformed reply to %s: %s", item.question.query_id, response.text[:120])
        return letter
