"""Batched inference: many instructions × many cards, the cards' connector outputs computed once per
call (or once per router, `card_clause_tokens`), instructions sorted by length so batches carry
little padding.

Example:
    scores = score_in_batches(net, prompts, cards, batch_size=32)  # (len(prompts), len(cards)) numpy
"""

import contextlib
from collections.abc import Sequence

import numpy as np
import torch

from modelsat.aptitude.cards import Card
from modelsat.models.loading import bf16_supported
from modelsat.router.routing.llm.model import RouterNet


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on `device` when enabled, else a no-op."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def use_bf16(setting: str, device: torch.device) -> bool:
    """Resolve the bf16 setting for `device`."""
    if setting == "auto":
        return (
            bf16_supported() if device.type == "cpu" else torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        )
    return setting == "on"


def perturbation_seeds(net: RouterNet) -> list[int | None]:
    """Clause-order seeds averaged over: the card's own order first, then `perturbations − 1` shuffles."""
    return [None if k == 0 else k for k in range(net.cfg.perturbations)]


@torch.no_grad()
def card_clause_tokens(net: RouterNet, cards: Sequence[Card], bf16: bool = False) -> list[torch.Tensor]:
    """The cards' connector outputs (N, C, D_llm), one per clause order of `perturbation_seeds`: what a
    router with frozen weights computes once and reuses for every instruction."""
    with autocast(net.device, bf16):
        return [net.clause_tokens(cards, order_seed=seed) for seed in perturbation_seeds(net)]


@torch.no_grad()
def score_in_batches(
    net: RouterNet,
    prompts: Sequence[str],
    cards: Sequence[Card],
    batch_size: int = 32,
    bf16: bool = False,
    progress=None,
    clause_tokens: list[torch.Tensor] | None = None,
) -> np.ndarray:
    """(Q, N) log-odds for every prompt × card. `progress(n_done)` is called after each batch;
    `clause_tokens` are the cards' ready `card_clause_tokens` (computed here when not given)."""
    out = np.zeros((len(prompts), len(cards)), dtype=np.float32)
    if not prompts:
        return out
    lengths = np.array([len(p) for p in prompts])
    order = np.argsort(lengths, kind="stable")
    per_instruction = net.cfg.instruction_pooling
    per_order = clause_tokens if clause_tokens is not None else card_clause_tokens(net, cards, bf16)

    def capability_tokens(embedded: torch.Tensor | None) -> list[torch.Tensor]:
        return [net.capability_tokens(cards, embedded=embedded, clause_tokens=t) for t in per_order]

    with autocast(net.device, bf16):
        shared_caps = None if per_instruction else capability_tokens(None)
        for start in range(0, len(prompts), batch_size):
            idx = order[start : start + batch_size]
            batch = [prompts[i] for i in idx]
            embedded = net.capability.embed_texts(batch).float() if net.reads_instruction_embedding else None
            caps_per_order = capability_tokens(embedded) if per_instruction else shared_caps
            total = torch.zeros(len(batch), len(cards), device=net.device)
            for caps in caps_per_order:
                if net.cfg.order == "card-first":
                    total += net.card_first_scores(batch, caps).float()
                else:
                    ids, mask = net.prefixes(batch)
                    total += net.fast_score_tokens(ids, mask, caps).float()
            total = total / len(caps_per_order) + net.readout_scores(cards, embedded)
            out[idx] = total.float().cpu().numpy()
            if progress is not None:
                progress(len(idx))
    return out
