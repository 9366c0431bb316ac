"""A backend over a local transformers causal LM, so the bundled SmolLM2-135M can answer real requests.

Generation is greedy when `temperature` is 0 and sampled otherwise (OpenAI's default temperature is 1);
one model runs one generation at a time (a lock), on a worker thread so the event loop stays free.

Example:
    backend = TransformersBackend.load("smollm2")
    reply = await backend.complete({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0})
"""

import asyncio
import threading
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TextIteratorStreamer

from modelsat.models.loading import load_causal_lm
from modelsat.serve.wire import SSE_DONE, ChatRequest, chat_chunk, chat_completion, message_text, new_id, sse_event

DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True)
class _Job:
    """One generation: tokenized prompt and `generate` arguments."""

    inputs: dict[str, torch.Tensor]
    kwargs: dict[str, Any]
    seed: int | None

    @property
    def prompt_tokens(self) -> int:
        return int(self.inputs["input_ids"].shape[1])


class TransformersBackend:
    """Chat completions from a causal LM with a chat template."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self._lock = threading.Lock()

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

    def _generate(self, job: _Job, streamer: TextIteratorStreamer | None = None) -> torch.Tensor:
        """The new token ids (1-D)."""
        with self._lock, torch.inference_mode():
            if job.seed is not None:
                torch.manual_seed(job.seed)
            out = self.model.generate(**job.inputs, **job.kwargs, streamer=streamer)
        return out[0, job.prompt_tokens :]

    def _finish_reason(self, job: _Job, new_ids: torch.Tensor) -> str:
        hit_limit = len(new_ids) >= job.kwargs["max_new_tokens"] and int(new_ids[-1]) != self.tokenizer.eos_token_id
        return "length" if hit_limit else "stop"

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Generate the whole answer on a worker thread."""
        job = self._job(body)
        new_ids = await asyncio.to_thread(self._generate, job)
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        return chat_completion(self.name, text, job.prompt_tokens, len(new_ids), self._finish_reason(job, new_ids))

    async def stream(self, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """Stream text pieces as they are generated, then the finish reason and `[DONE]`."""
        job = self._job(body)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        generation = asyncio.ensure_future(asyncio.to_thread(self._generate, job, streamer))
        completion_id = new_id()
        yield sse_event(chat_chunk(completion_id, self.name, {"role": "assistant", "content": ""}))
        pieces = iter(streamer)
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            if piece:
                yield sse_event(chat_chunk(completion_id, self.name, {"content": piece}))
        new_ids = await generation
        yield sse_event(chat_chunk(completion_id, self.name, {}, finish_reason=self._finish_reason(job, new_ids)))
        yield SSE_DONE

    async def aclose(self) -> None:
        """Nothing to release (the weights go with the process)."""
