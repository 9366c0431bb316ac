"""Capability encoder + connector: a card's clauses → capability tokens in the LLM's embedding space.

Each clause is embedded by the encoder (mean pooling, Model-SAT §3.2), optionally joined with its
accuracy as numbers, mapped by a one-layer MLP connector to the LLM width, and pooled into
`capability_tokens` tokens by learned attention queries (0 = keep one token per clause).
Pooling makes the result independent of clause order. With `instruction_pooling` the queries also
depend on the instruction's encoder embedding, so each (instruction, card) pair gets its own tokens:
the card is read in the light of the instruction, like an examiner looking up the relevant subjects.

Example:
    cap = CapabilityModule(encoder, enc_tokenizer, d_llm=576, cfg=router_cfg, embed_rms=0.136)
    embedded = cap.embed_texts(card.clauses()).unsqueeze(0)  # (1, C, 384)
    clause_tokens = cap.connector(cap.clause_inputs([card], embedded))  # (1, C, 576)
    tokens = cap.pool(clause_tokens)  # (1, P, 576)
"""

import math
from collections.abc import Sequence

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from modelsat.aptitude.cards import Card
from modelsat.errors import ConfigError, RouterError
from modelsat.router.config import RouterConfig
from modelsat.router.routing.untested import card_accuracies, fill_untested

N_FOURIER = 4
NUMERIC_FEATURES = 2 + 2 * N_FOURIER  # accuracy, is-fact flag, sin/cos features


def numeric_features(accuracy: torch.Tensor, is_fact: torch.Tensor) -> torch.Tensor:
    """(..., ) accuracies in [0, 1] → (..., NUMERIC_FEATURES) features (Fourier terms sharpen the number)."""
    freqs = torch.arange(1, N_FOURIER + 1, dtype=accuracy.dtype, device=accuracy.device) * math.pi
    angles = accuracy.unsqueeze(-1) * freqs
    return torch.cat([accuracy.unsqueeze(-1), is_fact.unsqueeze(-1), angles.sin(), angles.cos()], dim=-1)


def clause_numbers(card: Card, n_clauses: int) -> tuple[list[float], list[float]]:
    """Per-clause accuracy and is-fact flags, aligned with `card.clauses()` and padded to `n_clauses`: the tested
    tasks' accuracies, then 0 with the fact flag for the not-tested clause, the facts and any padding."""
    accuracies = [s.accuracy for s in card.scores if s.accuracy is not None]
    n_rest = n_clauses - len(accuracies)
    return accuracies + [0.0] * n_rest, [0.0] * len(accuracies) + [1.0] * n_rest


def clause_mask(cards: Sequence[Card], template: str | None = None) -> torch.Tensor | None:
    """(N, C_max) which clause rows are real when the cards' clause counts differ (partial cards), else None."""
    counts = [len(card.clauses(template)) for card in cards]
    if len(set(counts)) <= 1:
        return None
    return torch.arange(max(counts)).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)


def per_card(vectors: torch.Tensor, cards: Sequence[Card], template: str | None = None) -> torch.Tensor:
    """(ΣC_n, D) one row per clause of each card in turn → (N, C_max, D), zero rows after a shorter card's clauses
    (`clause_mask` marks the real ones)."""
    present = clause_mask(cards, template)
    if present is None:
        return vectors.reshape(len(cards), -1, vectors.shape[-1])  # (N·C, D) -> (N, C, D)
    out = vectors.new_zeros(*present.shape, vectors.shape[-1])  # (N, C_max, D)
    out[present.to(out.device)] = vectors
    return out


def card_slots(cards: Sequence[Card]) -> int:
    """The readout slots every card of `cards` has (one per core task, then its facts), with a clear error."""
    shapes = {(len(card.scores), len(card.facts)) for card in cards}
    if len(shapes) != 1:
        raise RouterError("all cards must have the same core tasks and number of facts (same aptitude set)")
    return cards[0].n_slots


def readout_inputs(
    cards: Sequence[Card], n_slots: int, device: torch.device, margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C) per-slot accuracies (untested entries read by `untested.fill_untested`, 0 for the facts) and the
    slots' log prior weights (`slot_prior`) of `cards`: what the accuracy readout weighs."""
    kinds = [s.kind for s in cards[0].scores]
    measured = card_accuracies(cards, device)  # (N, T), NaN where not tested
    tasks = fill_untested(measured, margin, kinds)
    n_tasks = tasks.shape[1]
    accuracy = torch.cat([tasks, tasks.new_zeros(len(cards), n_slots - n_tasks)], dim=1)  # (N, T) -> (N, C)
    prior = torch.cat([slot_prior(measured, kinds), tasks.new_full((n_slots - n_tasks,), float("-inf"))])
    return accuracy, prior.expand(len(cards), -1)


def slot_prior(measured: torch.Tensor, kinds: Sequence[str | None]) -> torch.Tensor:
    """(T,) log prior weight of each core task in the readout, before the request is read (docs/router.md,
    "Partial cards"). Full cards get 0 everywhere: the readout as before. Partial cards get −inf for a task no
    candidate was tested on (it would tell them apart by nothing but their other results), and with several kinds
    of request among the tasks left, −log(those tasks of its kind), so every kind weighs alike whatever its number
    of core tasks (the unified test has 31 of knowledge, 2 of code) and a candidate tested on many tasks of one kind
    gains nothing from their number. `measured`: (N, T), NaN where not tested."""
    if not measured.isnan().any():
        return torch.zeros(measured.shape[1], dtype=measured.dtype, device=measured.device)
    weighed = ~measured.isnan().all(0)
    if not weighed.any():  # nobody was tested on anything: every task, every candidate read by its prior
        weighed = torch.ones_like(weighed)
    prior = torch.where(weighed, 0.0, float("-inf")).to(measured.dtype)
    kept = [kind for kind, keep in zip(kinds, weighed.tolist(), strict=True) if keep]
    if len(set(kept)) > 1:
        counts = {kind: kept.count(kind) for kind in set(kept)}
        share = torch.tensor([math.log(counts.get(kind, 1)) for kind in kinds], dtype=measured.dtype)
        prior = prior - share.to(prior.device)
    return prior


class GroupPosterior(nn.Module):
    """A fitted softmax regression over groups of core tasks: (B, D_enc) embeddings → (B, G) posterior."""

    def __init__(self, coef: torch.Tensor, intercept: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("coef", coef.float(), persistent=False)  # (G, D_enc), on unit-norm embeddings
        self.register_buffer("intercept", intercept.float(), persistent=False)  # (G,)

    def forward(self, instructions: torch.Tensor) -> torch.Tensor:
        logits = nn.functional.normalize(instructions.float(), dim=-1) @ self.coef.T + self.intercept
        return logits.softmax(-1)


class AccuracyReadout(nn.Module):
    """α·logit of a card's accuracy on the subjects nearest the instruction (`router.accuracy_readout`).

    The weights are a softmax over the card's accuracy clauses of the cosine similarity between the
    instruction's and each clause's encoder embedding, at a learned temperature; facts get no weight. The
    result is monotone in the card's accuracies, so a card stronger than every training card still reads as
    stronger: what a connector that has only seen 15–45 % cards cannot promise. With `groups` (a task classifier
    chosen on validation, `routing/readout_choice.py`) the clause weights are the request's posterior over groups
    of tasks instead, and the keys each clause's share of its group (N, C, G); with `within_groups` as well (groups
    are kinds of request), the posterior says which kind and the similarity softmax which tasks within it, the keys
    each clause's prototype and then its one-hot group (N, C, D_enc + G).
    """

    def __init__(self, temperature: float = 10.0, weight: float = 1.0) -> None:
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))
        self.weight = nn.Parameter(torch.tensor(weight))
        self.groups: GroupPosterior | None = None
        self.within_groups = False

    def forward(
        self, instructions: torch.Tensor, clauses: torch.Tensor, accuracy: torch.Tensor, prior: torch.Tensor
    ) -> torch.Tensor:
        """(B, D_enc) instruction and (N, C, D_enc) clause embeddings, (N, C) accuracies and the slots' log prior
        weights (`readout_inputs`; −inf: no weight, as for the facts) → (B, N)."""
        if self.groups is None:
            weights = self.similarity_weights(instructions, clauses, prior)
        elif self.within_groups:
            weights = self.similarity_within_groups(instructions, clauses, prior)
        else:
            weights = torch.einsum("bg,ncg->bnc", self.groups(instructions), clauses.float())
        pooled = torch.einsum("bnc,nc->bn", weights, accuracy.float()).clamp(0.01, 0.99)
        return self.weight * torch.logit(pooled)

    def similarity_within_groups(
        self, instructions: torch.Tensor, keys: torch.Tensor, prior: torch.Tensor
    ) -> torch.Tensor:
        """(B, N, C) the request's posterior over groups times, within each group, the softmax of its slots'
        similarity (`similarity_weights`' logits, the slots' prior included). `keys`: (N, C, D_enc + G), each slot's
        prototype and one-hot group. A group with no weighed slot (no candidate tested on it) passes its share to
        the others, as the prior does for tasks."""
        assert self.groups is not None
        n_groups = self.groups.intercept.shape[0]
        prototypes, member = keys[..., :-n_groups], keys[..., -n_groups:].float()  # (N, C, D_enc), (N, C, G)
        logits = self.similarity_logits(instructions, prototypes, prior)  # (B, N, C)
        inside = logits.unsqueeze(-1).masked_fill(member.unsqueeze(0) == 0, float("-inf"))  # (B, N, C, G)
        within = inside.softmax(2).nan_to_num(0.0)  # a group of no weighed slot: all zero
        posterior = self.groups(instructions).unsqueeze(1) * (within.sum(2) > 0)  # (B, N, G)
        posterior = posterior / posterior.sum(-1, keepdim=True).clamp(min=1e-12)
        return torch.einsum("bncg,bng->bnc", within, posterior)

    def similarity_weights(
        self, instructions: torch.Tensor, clauses: torch.Tensor, prior: torch.Tensor
    ) -> torch.Tensor:
        """(B, N, C) softmax over each card's clauses of their cosine similarity to the instruction (at the learned
        temperature), plus each slot's log prior weight."""
        return self.similarity_logits(instructions, clauses, prior).softmax(-1)

    def similarity_logits(self, instructions: torch.Tensor, clauses: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """(B, N, C) cosine similarity of each clause to the instruction at the learned temperature, plus each
        slot's log prior weight."""
        sim = torch.einsum(
            "bd,ncd->bnc",
            nn.functional.normalize(instructions.float(), dim=-1),
            nn.functional.normalize(clauses.float(), dim=-1),
        )
        return sim * self.log_temperature.exp() + prior.float().unsqueeze(0)


class CapabilityModule(nn.Module):
    """Encoder (frozen or trainable) + MLP connector + attention pooling."""

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        d_llm: int,
        cfg: RouterConfig,
        embed_rms: float,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.cfg = cfg
        d_in = encoder.config.hidden_size + (NUMERIC_FEATURES if cfg.numeric_accuracy else 0)
        self.connector = nn.Sequential(
            nn.Linear(d_in, cfg.connector_hidden), nn.GELU(), nn.Linear(cfg.connector_hidden, d_llm)
        )
        n_queries = max(cfg.capability_tokens, 1)
        self.pool_queries = nn.Parameter(torch.randn(n_queries, d_llm) / math.sqrt(d_llm))
        if cfg.instruction_pooling and (cfg.capability_tokens == 0 or cfg.order == "card-first"):
            raise ConfigError("router.instruction_pooling needs pooled capability tokens and instruction-first order")
        tokenizer.truncation_side = cfg.truncation_side
        self.instruction_queries = (
            nn.Linear(encoder.config.hidden_size, n_queries * d_llm) if cfg.instruction_pooling else None
        )
        if self.instruction_queries is not None:  # starts as the instruction-independent pooling
            nn.init.zeros_(self.instruction_queries.weight)
            nn.init.zeros_(self.instruction_queries.bias)
        self.norm = nn.LayerNorm(d_llm, elementwise_affine=False)
        # Capability tokens start at the scale of real token embeddings so the frozen LLM reads them.
        self.scale = nn.Parameter(torch.tensor(float(embed_rms)))
        self.readout = AccuracyReadout() if cfg.accuracy_readout else None
        self.prior = nn.Linear(d_llm, 1) if cfg.prior_head else None
        if self.prior is not None:  # starts neutral: scores are the LLM's until training moves it
            nn.init.zeros_(self.prior.weight)
            nn.init.zeros_(self.prior.bias)

    def prior_scores(self, cap_tokens: torch.Tensor) -> torch.Tensor | float:
        """([B,] N, P, D) capability tokens → ([B,] N) additive per-card prior (0 when disabled)."""
        if self.prior is None:
            return 0.0
        return self.prior((cap_tokens.float() / self.scale).mean(dim=-2)).squeeze(-1).float()  # (..., D) -> (...,)

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Mean-pooled encoder embeddings: (T,) texts → (T, D_enc)."""
        device = next(self.encoder.parameters()).device
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt").to(
            device
        )
        hidden = self.encoder(**batch).last_hidden_state  # (T, L, D_enc)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def clause_inputs(self, cards: Sequence[Card], clause_embeddings: torch.Tensor) -> torch.Tensor:
        """Connector inputs for `cards`: (N, C, D_in), given (N, C, D_enc) clause embeddings."""
        if not self.cfg.numeric_accuracy:
            return clause_embeddings
        n_clauses = clause_embeddings.shape[1]
        acc, fact = zip(*(clause_numbers(c, n_clauses) for c in cards), strict=True)
        acc_t = torch.tensor(acc, dtype=clause_embeddings.dtype, device=clause_embeddings.device)  # (N, C)
        fact_t = torch.tensor(fact, dtype=clause_embeddings.dtype, device=clause_embeddings.device)
        return torch.cat([clause_embeddings, numeric_features(acc_t, fact_t)], dim=-1)

    def pool(
        self,
        clause_tokens: torch.Tensor,
        instructions: torch.Tensor | None = None,
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(N, C, D_llm) connector outputs → (N, P, D_llm) capability tokens (P = C when not pooled), or
        (B, N, P, D_llm) given (B, D_enc) instruction embeddings under `instruction_pooling`. The connector
        outputs do not depend on the instruction, so a router computes them once per card. `present` (N, C) marks
        the real clauses of cards padded to one length (`clause_mask`: partial cards); padding gets no weight."""
        if self.cfg.capability_tokens == 0:
            if present is not None:
                raise RouterError("partial cards need pooled capability tokens (router.capability_tokens > 0)")
            return self.norm(clause_tokens) * self.scale
        d = clause_tokens.shape[-1]
        if self.instruction_queries is None:
            weights = torch.einsum("ncd,pd->npc", clause_tokens, self.pool_queries) / math.sqrt(d)  # (N, P, C)
            if present is not None:
                weights = weights.masked_fill(~present.to(weights.device).unsqueeze(1), float("-inf"))
            pooled = torch.einsum("npc,ncd->npd", weights.softmax(-1), clause_tokens)  # (N, P, D_llm)
        else:
            assert instructions is not None, "instruction pooling needs the instructions' embeddings"
            extra = self.instruction_queries(instructions.to(clause_tokens.dtype))  # (B, D_enc) -> (B, P·D)
            queries = self.pool_queries + extra.reshape(len(instructions), -1, d)  # (B, P, D_llm)
            weights = torch.einsum("ncd,bpd->bnpc", clause_tokens, queries) / math.sqrt(d)  # (B, N, P, C)
            if present is not None:
                weights = weights.masked_fill(~present.to(weights.device)[None, :, None, :], float("-inf"))
            pooled = torch.einsum("bnpc,ncd->bnpd", weights.softmax(-1), clause_tokens)  # (B, N, P, D_llm)
        return self.norm(pooled) * self.scale
