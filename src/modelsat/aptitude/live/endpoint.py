"""OpenAI-compatible chat-completion client that takes the aptitude test (httpx, async) or judges answers.

Up to `concurrency` requests run at once; timeouts, connection errors, HTTP 429 and 5xx are
retried with exponential backoff; a refused key (401/403) stops the run with a clear error. A
reply that is not a chat completion is passed on as None; the grader counts it as unparsed.
As a judge (`complete`), one blocking request per call, with the same retries.

Example:
    client = EndpointClient("http://127.0.0.1:8000/v1", "llama-3-8b", api_key=os.environ.get("OPENAI_API_KEY"))
    client.answer(asked, on_answer=lambda item, reply, seconds: ...)
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from modelsat.aptitude.live.questions import Asked
from modelsat.errors import BackendError

log = logging.getLogger(__name__)


class EndpointClient:
    """Asks each prompt as one chat completion (an `Answerer`; as a judge, a `Chat`)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._sync: httpx.Client | None = None

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Ask every item concurrently, calling `on_answer(item, reply or None, seconds)` as replies arrive.

        Raises:
            BackendError: the key was refused, the request was rejected, or retries ran out.
        """
        asyncio.run(self._answer_all(asked, on_answer))

    async def _answer_all(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Run all requests under a semaphore; the first fatal error cancels the rest."""
        limit = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, headers=self._headers(), timeout=self.timeout) as client:

            async def one(item: Asked) -> None:
                async with limit:
                    began = time.perf_counter()
                    reply = await self._ask(client, item)
                    on_answer(item, reply, time.perf_counter() - began)

            tasks = [asyncio.create_task(one(item)) for item in asked]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _payload(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": max_tokens,
        }

    async def _ask(self, client: httpx.AsyncClient, item: Asked) -> str | None:
        """One prompt with retries; the reply text, or None for a reply that is not a chat completion."""
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await client.post("/chat/completions", json=self._payload(item.prompt, item.max_tokens))
            except httpx.TransportError as exc:  # timeouts and refused/reset connections
                last = f"{type(exc).__name__}: {exc}"
                continue
            if (retry := self._check(response)) is not None:
                last = retry
                continue
            return self._content(response, item.question.query_id)
        raise BackendError(
            f"{self.base_url}: no answer to {item.question.query_id} after {self.max_retries + 1} attempts "
            f"(last: {last}); answers so far are saved, re-run to resume"
        )

    def complete(self, prompt: str, max_tokens: int) -> str | None:
        """One blocking chat completion with retries (thread-safe): the judge's call.

        Raises:
            BackendError: the key was refused, the request was rejected, or retries ran out.
        """
        if self._sync is None:
            self._sync = httpx.Client(base_url=self.base_url, headers=self._headers(), timeout=self.timeout)
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._sync.post("/chat/completions", json=self._payload(prompt, max_tokens))
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if (retry := self._check(response)) is not None:
                last = retry
                continue
            return self._content(response, "a judge prompt")
        raise BackendError(
            f"{self.base_url}: no reply from judge {self.model} after {self.max_retries + 1} attempts "
            f"(last: {last}); graded answers are saved, re-run to resume"
        )

    def _check(self, response: httpx.Response) -> str | None:
        """None for a usable response, a reason to retry (429/5xx); raises for a refused key or bad request."""
        if response.status_code in (401, 403):
            raise BackendError(
                f"{self.base_url} refused the API key (HTTP {response.status_code}); "
                "set the key in the variable named by --api-key-env (default OPENAI_API_KEY)"
            )
        if response.status_code == 429 or response.status_code >= 500:
            return f"HTTP {response.status_code}"
        if response.status_code >= 400:
            raise BackendError(
                f"{self.base_url} rejected the request (HTTP {response.status_code}): {response.text[:200]}"
            )
        return None

    def _content(self, response: httpx.Response, what: str) -> str | None:
        """The message text of a chat-completion response, or None (logged) when it is not one."""
        try:
            body: Any = response.json()
            content = body["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            log.warning("malformed reply to %s: %s", what, response.text[:120])
            return None
        return content
