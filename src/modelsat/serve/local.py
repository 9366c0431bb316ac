"""A backend over a local transformers causal LM, so the bundled SmolLM2-135M can answer real requests.

Generation is greedy when `temperature` is 0 and sampled otherwise (OpenAI's default temperature is 1).
One model runs one generation at a time, in order, on its own worker thread, so the event loop stays free and
waiting requests hold no thread. A streamed answer sends its first event only when its generation starts: a
request still queued behind others has sent nothing, so the proxy may still time it out and fall back, and a
stream it relays is never silent for the length of a queue. A request whose client goes away is dropped from
the queue, or stopped at its next token.

Example:
    backend = TransformersBackend.load("smollm2")
    reply = await backend.complete({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0})
"""

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import (
    AsyncTextIteratorStreamer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
)

from modelsat.models.loading import load_causal_lm
from modelsat.serve.wire import SSE_DONE, ChatRequest, chat_chunk, chat_completion, message_text, new_id, sse_event

DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class _Job:
    """One generation: tokenized prompt and `generate` arguments."""

    inputs: dict[str, torch.Tensor]
    kwargs: dict[str, Any]
    seed: int | None
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def prompt_tokens(self) -> int:
        return int(self.inputs["input_ids"].shape[1])


class _StopWhenSet(StoppingCriteria):
    """Ends a generation at its next token once `event` is set (its client went away)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)  # type: ignore[return-value]


class TransformersBackend:
    """Chat completions from a causal LM with a chat template."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

    @classmethod
    def load(cls, spec: str) -> "TransformersBackend":
        """Load `spec` (`smollm2`, a Hugging Face id or a local folder) with `load_causal_lm`."""
        model, tokenizer = load_causal_lm(spec)
        return cls(model, tokenizer, spec)

    def _job(self, body: Mapping[str, Any]) -> _Job:
        request = ChatRequest.model_validate({**body, "model": self.name})
        turns = [{"role": m.role, "content": message_text(m)} for m in request.messages]
        inputs = self.tokenizer.apply_chat_template(
            turns, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        temperature = 1.0 if request.temperature is None else request.temperature
        kwargs: dict[str, Any] = {
            "max_new_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            kwargs |= {"temperature": temperature, "top_p": float(body.get("top_p") or 1.0), "top_k": 0}
        seed = body.get("seed")
        return _Job(dict(inputs), kwargs, seed if isinstance(seed, int) else None)

    def _generate(
        self, job: _Job, streamer: AsyncTextIteratorStreamer | None = None, on_start: Callable[[], None] | None = None
    ) -> torch.Tensor:
        """The new token ids (1-D); runs on the worker thread."""
        if on_start is not None:
            on_start()
        try:
            with torch.inference_mode():
                if job.seed is not None:
                    torch.manual_seed(job.seed)
                stopping = StoppingCriteriaList([_StopWhenSet(job.stop)])
                out = self.model.generate(**job.inputs, **job.kwargs, streamer=streamer, stopping_criteria=stopping)
        except BaseException:
            if streamer is not None:
                streamer.end()  # the reader waits for the stream's end: give it one, then the error
            raise
        return out[0, job.prompt_tokens :]

    async def _run(
        self, job: _Job, streamer: AsyncTextIteratorStreamer | None = None, on_start: Callable[[], None] | None = None
    ) -> torch.Tensor:
        """`_generate` on the worker, after the jobs before it; a cancelled job leaves the queue or stops."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._worker, self._generate, job, streamer, on_start)
        finally:
            job.stop.set()

    def _finish_reason(self, job: _Job, new_ids: torch.Tensor) -> str:
        hit_limit = len(new_ids) >= job.kwargs["max_new_tokens"] and int(new_ids[-1]) != self.tokenizer.eos_token_id
        return "length" if hit_limit else "stop"

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Generate the whole answer on a worker thread."""
        job = self._job(body)
        new_ids = await self._run(job)
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        return chat_completion(self.name, text, job.prompt_tokens, len(new_ids), self._finish_reason(job, new_ids))

    async def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """Stream text pieces as they are generated, then the finish reason and `[DONE]`."""
        job = self._job(body)
        streamer = AsyncTextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        generation = asyncio.ensure_future(self._run(job, streamer, lambda: loop.call_soon_threadsafe(started.set)))
        waiter = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait([waiter, generation], return_when=asyncio.FIRST_COMPLETED)
            if generation.done() and not started.is_set():
                generation.result()  # it failed before it started: the error, with nothing sent
            completion_id = new_id()
            yield sse_event(chat_chunk(completion_id, self.name, {"role": "assistant", "content": ""}))
            async for piece in streamer:
                if piece:
                    yield sse_event(chat_chunk(completion_id, self.name, {"content": piece}))
            new_ids = await generation
            yield sse_event(chat_chunk(completion_id, self.name, {}, finish_reason=self._finish_reason(job, new_ids)))
            yield SSE_DONE
        finally:
            waiter.cancel()
            job.stop.set()
            generation.cancel()

    async def aclose(self) -> None:
        """Stop the worker thread (the weights go with the process)."""
        self._worker.shutdown(wait=False, cancel_futures=True)
