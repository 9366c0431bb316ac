"""The Model-SAT router network: capability module + capability LLM, scoring (instruction, card) pairs.

Score = log P(Yes) − log P(No) at the answer position (P(Yes) = sigmoid of it), Model-SAT §3.3.

Example:
    net = RouterNet.build(cfg.router, device="cpu")
    ids, mask = net.prefixes(["Solve x^2 = 4"])
    log_odds = net.score_tokens(ids, mask, net.capability_tokens([card_a, card_b]))  # (1, 2)
"""

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from modelsat.aptitude.cards import Card
from modelsat.errors import RouterError
from modelsat.router.config import RouterConfig
from modelsat.router.routing.capability import (
    CapabilityModule,
    card_slots,
    clause_mask,
    per_card,
    readout_inputs,
)
from modelsat.router.routing.llm.prompting import PromptLayout
from modelsat.router.routing.llm.scoring import (
    encode_prefix,
    full_forward_scores,
    one_pass_scores,
    shared_prefix_scores,
)
from modelsat.router.routing.prototypes import card_prototype_keys
from modelsat.router.routing.readout_choice import ReadoutChoice


class RouterNet(nn.Module):
    """Encoder + connector + LLM, with a per-text cache of frozen clause embeddings."""

    def __init__(
        self,
        llm: PreTrainedModel,
        llm_tokenizer: PreTrainedTokenizerBase,
        capability: CapabilityModule,
        cfg: RouterConfig,
    ) -> None:
        super().__init__()
        self.llm = llm
        self.llm_tokenizer = llm_tokenizer
        self.capability = capability
        self.cfg = cfg
        self.layout = PromptLayout.build(llm_tokenizer, cfg)
        self.clause_cache: dict[str, torch.Tensor] = {}
        self.encoder_tuned = False  # stage 2 fine-tunes the encoder: its weights become part of the router
        self.prototypes: dict[str, torch.Tensor] | None = None  # `router.readout_keys: prototypes`
        self.readout_choice: ReadoutChoice | None = None  # the stored readout choice (`readout_choice.py`)

    @classmethod
    def build(cls, cfg: RouterConfig, device: str | torch.device = "cpu") -> "RouterNet":
        """Load the configured LLM and encoder and attach a fresh connector."""
        from modelsat.models.loading import load_causal_lm, load_encoder

        llm, llm_tok = load_causal_lm(cfg.llm)
        encoder, enc_tok = load_encoder(cfg.encoder)
        embed = llm.get_input_embeddings().weight
        embed_rms = float(embed.detach().float().pow(2).mean().sqrt())
        capability = CapabilityModule(encoder, enc_tok, embed.shape[1], cfg, embed_rms)
        return cls(llm, llm_tok, capability, cfg).to(device)

    @property
    def reads_instruction_embedding(self) -> bool:
        """Whether scores use the instruction's encoder embedding (instruction pooling or the accuracy readout)."""
        return self.cfg.instruction_pooling or self.cfg.accuracy_readout

    @property
    def suffix_adapters(self) -> bool:
        """Whether LLM adapters are attached that change only the suffixes (`lora.scope: suffix`)."""
        lora = self.cfg.lora
        return lora is not None and lora.scope == "suffix" and hasattr(self.llm, "peft_config")

    @contextmanager
    def base_prefix(self) -> Iterator[None]:
        """Encode instruction prefixes inside this block: with suffix-scoped adapters, their LLM is the base
        model (adapters off), which is what keeps stored and shared prefixes valid while the adapters train."""
        if self.suffix_adapters:
            with self.llm.disable_adapter():
                yield
        else:
            yield

    def encode_prefix(self, prefix_ids: torch.Tensor, prefix_mask: torch.Tensor) -> DynamicCache:
        """KV cache of the (B, L) prefixes, as the router's prefix encoding defines it (`base_prefix`)."""
        with self.base_prefix():
            return encode_prefix(self.llm, prefix_ids, prefix_mask)

    @property
    def device(self) -> torch.device:
        """Device of the LLM weights."""
        return self.llm.get_input_embeddings().weight.device

    def clause_embeddings(self, cards: Sequence[Card], *, cached: bool = True) -> torch.Tensor:
        """(N, C, D_enc) encoder embeddings of each card's clauses; cached per text when frozen. Cards with fewer
        clauses (partial cards) are padded with zero rows at the end (`clause_mask` says which rows are real)."""
        card_slots(cards)
        flat = [t for c in cards for t in c.clauses(self.cfg.clause_template)]
        if not cached:
            return per_card(self.capability.embed_texts(flat), cards, self.cfg.clause_template)
        missing = sorted({t for t in flat if t not in self.clause_cache})
        if missing:
            with torch.no_grad():
                for start in range(0, len(missing), 256):
                    chunk = missing[start : start + 256]
                    for text, vec in zip(chunk, self.capability.embed_texts(chunk), strict=True):
                        self.clause_cache[text] = vec.float()
        return per_card(torch.stack([self.clause_cache[t] for t in flat]), cards, self.cfg.clause_template)

    def clause_tokens(
        self, cards: Sequence[Card], *, order_seed: int | None = None, cached: bool = True
    ) -> torch.Tensor:
        """(N, C, D_llm) connector outputs of each card's clauses, before pooling; `order_seed` permutes
        clause order (no-op once pooled, so cards padded to one length keep theirs: `clause_mask`)."""
        inputs = self.capability.clause_inputs(cards, self.clause_embeddings(cards, cached=cached))
        if order_seed is not None and clause_mask(cards, self.cfg.clause_template) is None:
            perm = list(range(inputs.shape[1]))
            random.Random(order_seed).shuffle(perm)
            inputs = inputs[:, perm]
        return self.capability.connector(inputs.to(self.device))

    def capability_tokens(
        self,
        cards: Sequence[Card],
        *,
        order_seed: int | None = None,
        cached: bool = True,
        instructions: Sequence[str] | None = None,
        embedded: torch.Tensor | None = None,
        clause_tokens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(N, P, D_llm) capability tokens, or (B, N, P, D_llm) for `instructions` (or their (B, D_enc)
        encoder embeddings, `embedded`) under instruction pooling. `clause_tokens`, the cards' ready
        `clause_tokens(...)`, skip the connector (inference with frozen weights)."""
        if clause_tokens is None:
            clause_tokens = self.clause_tokens(cards, order_seed=order_seed, cached=cached)
        present = clause_mask(cards, self.cfg.clause_template)
        if not self.cfg.instruction_pooling:
            return self.capability.pool(clause_tokens, present=present)
        if embedded is None:
            if instructions is None:
                raise ValueError("this router pools card clauses per instruction: pass the instructions")
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.capability.encoder.training):
                embedded = self.capability.embed_texts(instructions)  # (B, D_enc)
        return self.capability.pool(clause_tokens, embedded.float(), present)

    def readout_scores(self, cards: Sequence[Card], embedded: torch.Tensor | None) -> torch.Tensor | float:
        """(B, N) accuracy readout (`router.accuracy_readout`) for (B, D_enc) instruction embeddings; 0 when off."""
        readout = self.capability.readout
        if readout is None:
            return 0.0
        if embedded is None:
            raise ValueError("the accuracy readout needs the instructions' encoder embeddings")
        clauses = self.readout_keys(cards).to(self.device)
        accuracy, prior = readout_inputs(cards, clauses.shape[1], self.device, self.cfg.untested_margin)
        return readout(embedded.to(self.device), clauses, accuracy, prior)

    def readout_keys(self, cards: Sequence[Card]) -> torch.Tensor:
        """(N, C, D_enc) what the readout compares instructions with, one row per slot (core task, then facts):
        clause embeddings, or task prototypes (zero rows for facts, which the readout masks)."""
        n_slots = card_slots(cards)
        if self.readout_choice is not None and self.readout_choice.kind == "classifier":
            return self.readout_choice.keys(cards, n_slots, self.prototypes)
        if self.cfg.readout_keys == "clauses":
            if any(card.is_partial for card in cards):
                raise RouterError("a readout keyed by clause texts cannot read partial cards: use prototype keys")
            return self.clause_embeddings(cards, cached=not self.encoder_tuned)
        if self.prototypes is None:
            raise RouterError("this router's readout reads task prototypes, but none are loaded")
        return card_prototype_keys(self.prototypes, cards, n_slots)

    def embed_ids(self, ids: list[int], rows: int) -> torch.Tensor:
        """(rows, T, D) input embeddings of a fixed token list."""
        table = self.llm.get_input_embeddings()
        return table(torch.tensor(ids, dtype=torch.long, device=self.device)).unsqueeze(0).expand(rows, -1, -1)

    def suffixes(self, cap_tokens: torch.Tensor) -> torch.Tensor:
        """([B,] N, P, D) capability tokens → ([B,] N, P + cue, D) per-candidate suffixes."""
        lead = cap_tokens.shape[:-2]
        cue = self.embed_ids(self.layout.cue, lead.numel()).to(cap_tokens.dtype)  # (rows, cue, D)
        return torch.cat([cap_tokens, cue.reshape(*lead, *cue.shape[1:])], dim=-2)

    def prefixes(self, instructions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded (B, L) prefix ids and mask on the model's device."""
        ids, mask, _ = self.layout.prefixes(self.llm_tokenizer, instructions)
        return ids.to(self.device), mask.to(self.device)

    def score_tokens(
        self, prefix_ids: torch.Tensor, prefix_mask: torch.Tensor, cap_tokens: torch.Tensor
    ) -> torch.Tensor:
        """Shared-prefix log-odds (B, N) for capability tokens (N, P, D)."""
        suffix = self.suffixes(cap_tokens)
        cache = self.encode_prefix(prefix_ids, prefix_mask)
        scores = shared_prefix_scores(
            self.llm, prefix_ids, prefix_mask, suffix, self.layout.yes_ids, self.layout.no_ids, cache
        )
        return scores + self.capability.prior_scores(cap_tokens)

    def forward(
        self,
        prefix_mask: torch.Tensor,
        cards: Sequence[Card],
        *,
        prefix_ids: torch.Tensor | None = None,
        instructions: Sequence[str] | None = None,
        cache: DynamicCache | None = None,
        embedded: torch.Tensor | None = None,
        order_seed: int | None = None,
        prefix_grad: bool = False,
    ) -> torch.Tensor:
        """Training scores (B, N) in fp32. The prefixes come as ids and `instructions` (one prefix forward
        here; its KV cache carries gradients only with `prefix_grad`, when LLM adapters train, so stage 1
        backpropagates through the short suffixes alone), or ready-made as the `cache` of a prefix store
        with the instructions' encoder embeddings `embedded`."""
        if cache is None:
            assert prefix_ids is not None, "pass the prefix ids or a stored prefix cache"
            with torch.set_grad_enabled(prefix_grad and torch.is_grad_enabled()):
                cache = self.encode_prefix(prefix_ids, prefix_mask)
        if embedded is None and instructions is not None and self.capability.readout is not None:
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.capability.encoder.training):
                embedded = self.capability.embed_texts(instructions)
        caps = self.capability_tokens(
            cards, order_seed=order_seed, cached=not self.encoder_tuned, instructions=instructions, embedded=embedded
        )
        scores = shared_prefix_scores(
            self.llm, prefix_ids, prefix_mask, self.suffixes(caps), self.layout.yes_ids, self.layout.no_ids, cache
        )
        return scores.float() + self.capability.prior_scores(caps) + self.readout_scores(cards, embedded)

    def fast_score_tokens(
        self, prefix_ids: torch.Tensor, prefix_mask: torch.Tensor, cap_tokens: torch.Tensor
    ) -> torch.Tensor:
        """Same (B, N) log-odds as `score_tokens`, from one decoder call (inference); with suffix-scoped
        adapters prefix and suffixes need different weights, so two calls (`score_tokens`)."""
        if self.suffix_adapters:
            return self.score_tokens(prefix_ids, prefix_mask, cap_tokens)
        suffix = self.suffixes(cap_tokens)
        scores = one_pass_scores(self.llm, prefix_ids, prefix_mask, suffix, self.layout.yes_ids, self.layout.no_ids)
        return scores + self.capability.prior_scores(cap_tokens)

    def naive_score_tokens(
        self, prefix_ids: torch.Tensor, prefix_mask: torch.Tensor, cap_tokens: torch.Tensor
    ) -> torch.Tensor:
        """Same scores as `score_tokens`, by one full forward per (instruction, candidate) pair."""
        batch, n_cand = prefix_ids.shape[0], cap_tokens.shape[-3]
        suffix = self.suffixes(cap_tokens)  # ([B,] N, S, D)
        rows_mask = prefix_mask.repeat_interleave(n_cand, dim=0)
        rows_suffix = suffix.expand(batch, -1, -1, -1).reshape(batch * n_cand, *suffix.shape[-2:])  # (B·N, S, D)
        if self.suffix_adapters:  # the prefix by the base model, once per pair
            rows_ids = prefix_ids.repeat_interleave(n_cand, dim=0)
            cache = self.encode_prefix(rows_ids, rows_mask)
            layout = self.layout
            scores = shared_prefix_scores(
                self.llm, rows_ids, rows_mask, rows_suffix.unsqueeze(1), layout.yes_ids, layout.no_ids, cache
            )  # (B·N, 1)
            return scores.reshape(batch, n_cand) + self.capability.prior_scores(cap_tokens)
        rows_prefix = self.llm.get_input_embeddings()(prefix_ids).repeat_interleave(n_cand, dim=0)  # (B·N, L, D)
        suffix_mask = torch.ones(rows_suffix.shape[:2], dtype=rows_mask.dtype, device=rows_mask.device)
        scores = full_forward_scores(
            self.llm, [rows_prefix, rows_suffix], [rows_mask, suffix_mask], self.layout.yes_ids, self.layout.no_ids
        )
        return scores.reshape(batch, n_cand) + self.capability.prior_scores(cap_tokens)

    def card_first_scores(self, instructions: Sequence[str], cap_tokens: torch.Tensor) -> torch.Tensor:
        """The paper's order [head, description, capability tokens, instruction, inquiry, cue]: (B, N)."""
        layout = self.layout
        bodies, _ = layout.instruction_ids(self.llm_tokenizer, instructions)
        tails, tail_mask = layout.left_pad([body + layout.plain_tail + layout.cue for body in bodies])
        tails, tail_mask = tails.to(self.device), tail_mask.to(self.device)
        batch, n_cand = len(instructions), cap_tokens.shape[0]
        head = self.embed_ids(layout.head + layout.description, batch * n_cand)
        caps = cap_tokens.repeat(batch, 1, 1)  # (N, P, D) -> (B·N, P, D)
        body = self.llm.get_input_embeddings()(tails).repeat_interleave(n_cand, dim=0)  # (B·N, T, D)
        embeds = torch.cat([head, caps, body], dim=1)
        ones = torch.ones(batch * n_cand, head.shape[1] + caps.shape[1], dtype=tail_mask.dtype, device=self.device)
        mask = torch.cat([ones, tail_mask.repeat_interleave(n_cand, dim=0)], dim=1)
        # Move each row's padding (inside the body) to the front so the sequence is left-padded.
        pad_first = torch.argsort(mask, dim=1, stable=True)
        embeds = torch.gather(embeds, 1, pad_first.unsqueeze(-1).expand_as(embeds))
        mask = torch.gather(mask, 1, pad_first)
        scores = full_forward_scores(self.llm, [embeds], [mask], layout.yes_ids, layout.no_ids)
        return scores.reshape(batch, n_cand) + self.capability.prior_scores(cap_tokens)
