"""A local transformers causal LM taking the test: option letters by log-likelihood, free-form replies by generation.

Multiple choice: one forward pass per prompt (batched, left-padded); the model reads the question
and the lettered options up to "Answer:", and the option whose letter (" B" or "B") gets the highest
log-probability at the next position is its answer — the standard MMLU letter scoring. Position
bias this may carry is what the circle test removes.

Free-form prompts (math, code, open-ended) are wrapped in the model's chat template and answered by
greedy generation, batched, up to each prompt's `max_tokens`. The same model can serve as a judge
(`complete`), one prompt at a time.

Example:
    scorer = LocalScorer.load("smollm2", batch_size=8)
    scorer.answer(asked, on_answer=lambda item, reply, seconds: print(item.question.query_id, reply))
"""

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from modelsat.aptitude.live.questions import LETTERS, Asked
from modelsat.models.loading import bf16_supported, load_causal_lm


class LocalScorer:
    """Answers prompts by comparing the log-probabilities of the option letters (an `Answerer`)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        batch_size: int = 8,
        max_tokens: int = 1024,
        bf16: bool = False,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.bf16 = bf16
        self.letter_ids = [self._token_ids(letter) for letter in LETTERS]
        self._lock = threading.Lock()  # one forward pass at a time (judge calls come from grading threads)

    @classmethod
    def load(cls, spec: str, batch_size: int = 8) -> "LocalScorer":
        """Load `spec` ("smollm2", a Hugging Face id or a local folder) on CPU, bf16 autocast where native."""
        model, tokenizer = load_causal_lm(spec)
        return cls(model, tokenizer, batch_size=batch_size, bf16=bf16_supported())

    def _token_ids(self, letter: str) -> list[int]:
        """Single-token spellings of `letter` (with and without a leading space)."""
        ids = {tuple(self.tokenizer.encode(text, add_special_tokens=False)) for text in (f" {letter}", letter)}
        single = sorted(t[0] for t in ids if len(t) == 1)
        assert single, f"tokenizer has no single token for option letter {letter!r}"
        return single

    def letter_logprobs(self, prompts: Sequence[str]) -> torch.Tensor:
        """Log-probability of each option letter A–J after each prompt: (B, 10)."""
        self.tokenizer.truncation_side = "left"  # keep the options and "Answer:" when a question is long
        batch = self.tokenizer(
            list(prompts), return_tensors="pt", padding=True, truncation=True, max_length=self.max_tokens
        )
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        # Positions count real tokens only, so a left-padded prompt scores as it would alone.
        positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)  # (B, T)
        with torch.inference_mode(), autocast:
            logits = self.model(**batch, position_ids=positions).logits[:, -1, :].float()  # (B, T, V) -> (B, V)
        logp = torch.log_softmax(logits, dim=-1)
        return torch.stack([torch.logsumexp(logp[:, ids], dim=-1) for ids in self.letter_ids], dim=1)

    def generate(self, prompts: Sequence[str], max_tokens: int) -> list[str]:
        """Greedy chat replies to `prompts` (one batch, left-padded), at most `max_tokens` new tokens each."""
        template = self.tokenizer.apply_chat_template
        texts = [
            template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True) for p in prompts
        ]
        self.tokenizer.truncation_side = "left"
        batch = self.tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_tokens,
            add_special_tokens=False,
        )
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with self._lock, torch.inference_mode(), autocast:
            out = self.model.generate(
                **batch,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )  # (B, T + new)
        new = out[:, batch["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new, skip_special_tokens=True)

    def complete(self, prompt: str, max_tokens: int) -> str:
        """One greedy chat reply (used when this model is the judge)."""
        return self.generate([prompt], max_tokens)[0]

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Answer every item, calling `on_answer(item, reply, seconds)` after each batch.

        Multiple-choice items reply with the most likely option letter; free-form ones with generated text.
        """
        letters = sorted((a for a in asked if not a.generate), key=lambda item: len(item.prompt))  # less padding
        for start in range(0, len(letters), self.batch_size):
            chunk = letters[start : start + self.batch_size]
            began = time.perf_counter()
            with self._lock:
                scores = self.letter_logprobs([item.prompt for item in chunk])
            seconds = (time.perf_counter() - began) / len(chunk)
            for item, row in zip(chunk, scores, strict=True):
                on_answer(item, LETTERS[int(row[: item.n_options].argmax())], seconds)
        free = sorted((a for a in asked if a.generate), key=lambda item: (item.max_tokens, len(item.prompt)))
        for start in range(0, len(free), self.batch_size):
            chunk = free[start : start + self.batch_size]
            began = time.perf_counter()
            replies = self.generate([item.prompt for item in chunk], max(item.max_tokens for item in chunk))
            seconds = (time.perf_counter() - began) / len(chunk)
            for item, reply in zip(chunk, replies, strict=True):
                on_answer(item, reply, seconds)
