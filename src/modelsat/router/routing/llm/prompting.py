"""The capability instruction's token layout (Model-SAT §3.2), in our instruction-first order:

    [chat head] instruction [\\n\\n inquiry, chat tail, description cue] | capability tokens, answer cue
    └──────────────────── shared prefix (one forward per instruction) ─┘ └─ per-candidate suffix ─┘

Card-first (the paper's order) puts the capability tokens right after the chat head instead.

Example:
    layout = PromptLayout.build(tokenizer, cfg)
    ids, mask, n_cut = layout.prefixes(["What is 2+2?"])
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from modelsat.errors import ConfigError, RouterError
from modelsat.router.config import RouterConfig

log = logging.getLogger(__name__)
MARKER = "\u0000INSTRUCTION\u0000"


def token_ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of `text` without special tokens."""
    return tokenizer.encode(text, add_special_tokens=False) if text else []


def single_token_ids(tokenizer: PreTrainedTokenizerBase, words: Sequence[str]) -> list[int]:
    """Ids of answer words that must each be exactly one token."""
    ids = []
    for word in words:
        encoded = token_ids(tokenizer, word)
        if len(encoded) != 1:
            raise ConfigError(f"answer token {word!r} is {len(encoded)} tokens for this tokenizer; use single tokens")
        ids.append(encoded[0])
    return ids


@dataclass(frozen=True)
class PromptLayout:
    """Token pieces around the instruction and the capability tokens."""

    head: list[int]
    tail: list[int]
    plain_tail: list[int]
    cue: list[int]
    description: list[int]
    yes_ids: list[int]
    no_ids: list[int]
    pad_id: int
    max_instruction_tokens: int
    on_long_instruction: str
    truncation_side: str

    @classmethod
    def build(cls, tokenizer: PreTrainedTokenizerBase, cfg: RouterConfig) -> "PromptLayout":
        """Split the chat template around the instruction; falls back to plain text without one."""
        content = f"{MARKER}\n\n{cfg.inquiry}"
        if tokenizer.chat_template:
            system = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
            text = tokenizer.apply_chat_template(
                [*system, {"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
            )
        else:
            text = content + "\n"
        head, tail = text.split(MARKER)
        return cls(
            head=token_ids(tokenizer, head),
            tail=token_ids(tokenizer, tail + cfg.description_cue),
            plain_tail=token_ids(tokenizer, tail),
            cue=token_ids(tokenizer, cfg.answer_cue),
            description=token_ids(tokenizer, cfg.description_cue),
            yes_ids=single_token_ids(tokenizer, cfg.yes_tokens),
            no_ids=single_token_ids(tokenizer, cfg.no_tokens),
            pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
            max_instruction_tokens=cfg.max_instruction_tokens,
            on_long_instruction=cfg.on_long_instruction,
            truncation_side=cfg.truncation_side,
        )

    def instruction_ids(
        self, tokenizer: PreTrainedTokenizerBase, instructions: Sequence[str]
    ) -> tuple[list[list[int]], int]:
        """Token ids per instruction, cut to the limit; returns them and how many were cut."""
        encoded = tokenizer(list(instructions), add_special_tokens=False)["input_ids"]
        too_long = [i for i, ids in enumerate(encoded) if len(ids) > self.max_instruction_tokens]
        if too_long and self.on_long_instruction == "error":
            first = too_long[0]
            raise RouterError(
                f"instruction {first} has {len(encoded[first])} tokens, over max_instruction_tokens="
                f"{self.max_instruction_tokens} (set router.on_long_instruction=truncate to cut it)"
            )
        if too_long:
            log.warning("%d instruction(s) over %d tokens were truncated", len(too_long), self.max_instruction_tokens)
        keep = self.max_instruction_tokens
        cut = [ids[-keep:] if self.truncation_side == "left" else ids[:keep] for ids in encoded]
        return cut, len(too_long)

    def left_pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) ids and mask, padded on the left."""
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            if row:
                ids[i, width - len(row) :] = torch.tensor(row)
                mask[i, width - len(row) :] = 1
        return ids, mask

    def prefix_ids(
        self, tokenizer: PreTrainedTokenizerBase, instructions: Sequence[str]
    ) -> tuple[list[list[int]], int]:
        """Unpadded instruction-first prefix ids [head, instruction, tail] per instruction, number truncated."""
        bodies, n_cut = self.instruction_ids(tokenizer, instructions)
        return [self.head + body + self.tail for body in bodies], n_cut

    def prefixes(
        self, tokenizer: PreTrainedTokenizerBase, instructions: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Instruction-first prefixes, left-padded: (B, L) ids, mask, number truncated."""
        rows, n_cut = self.prefix_ids(tokenizer, instructions)
        ids, mask = self.left_pad(rows)
        return ids, mask, n_cut
