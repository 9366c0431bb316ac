"""Local multiple-choice scoring with a transformers causal LM: each option's log-likelihood as its letter.

One forward pass per prompt (batched, left-padded): the model reads the question and the lettered
options up to "Answer:", and the option whose letter (" B" or "B") gets the highest log-probability
at the next position is its answer — the standard MMLU letter scoring. Position bias this may carry
is what the circle test removes.

Example:
    scorer = LocalScorer.load("smollm2", batch_size=8)
    scorer.answer(asked, on_answer=lambda item, letter, seconds: print(item.question.query_id, letter))
"""

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

    def answer(self, asked: Sequence[Asked], on_answer: Callable[[Asked, str | None, float], None]) -> None:
        """Answer every item, calling `on_answer(item, letter, seconds)` after each batch."""
        order = sorted(asked, key=lambda item: len(item.prompt))  # similar lengths pad less
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            began = time.perf_counter()
            scores = self.letter_logprobs([item.prompt for item in chunk])
            seconds = (time.perf_counter() - began) / len(chunk)
            for item, row in zip(chunk, scores, strict=True):
                on_answer(item, LETTERS[int(row[: item.n_options].argmax())], seconds)
