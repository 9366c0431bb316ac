"""Shared-prefix scoring (DESIGN §5): one forward over [instruction, inquiry], then every candidate's
short suffix [capability tokens, answer cue] in one batched pass that reads the prefix's KV cache
without copying it.

All N suffixes of an instruction sit side by side in one sequence; a 4-D attention mask lets each
suffix token see the whole prefix and only its own candidate's earlier suffix tokens, and position
ids restart at the prefix length for every candidate. Each candidate therefore gets exactly the
logits of a plain forward over [prefix, its suffix] (tested to 1e-4), at the cost of one prefix
forward plus N·S tokens.

Example:
    log_odds = shared_prefix_scores(llm, prefix_ids, prefix_mask, suffix, yes_ids, no_ids)  # (B, N)
"""

import torch
from transformers import DynamicCache, PreTrainedModel


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids for a left-padded (B, L) attention mask: 0.. over real tokens."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def yes_no_log_odds(llm: PreTrainedModel, hidden: torch.Tensor, yes_ids: list[int], no_ids: list[int]) -> torch.Tensor:
    """log P(Yes) − log P(No) from final hidden states (..., D), computing only the Yes/No logit rows."""
    weight = llm.get_output_embeddings().weight
    # In fp32 even under bf16 autocast: bf16 logits would round scores to steps of 1/8 and tie candidates.
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        logits = hidden.float() @ weight[yes_ids + no_ids].float().T  # (..., D) -> (..., Y+N)
    n_yes = len(yes_ids)
    return logits[..., :n_yes].logsumexp(-1) - logits[..., n_yes:].logsumexp(-1)


def suffix_attention_mask(prefix_mask: torch.Tensor, n_candidates: int, suffix_len: int) -> torch.Tensor:
    """(B, 1, N·S, L + N·S) boolean mask: prefix visible (minus padding), suffixes block-causal."""
    batch, prefix_len = prefix_mask.shape
    q = n_candidates * suffix_len
    block = torch.tril(torch.ones(suffix_len, suffix_len, dtype=torch.bool, device=prefix_mask.device))
    own = torch.block_diag(*([block] * n_candidates))  # (N·S, N·S)
    seen_prefix = prefix_mask.bool()[:, None, None, :].expand(batch, 1, q, prefix_len)
    return torch.cat([seen_prefix, own.expand(batch, 1, q, q)], dim=-1)


def encode_prefix(llm: PreTrainedModel, prefix_ids: torch.Tensor, prefix_mask: torch.Tensor) -> DynamicCache:
    """Run the decoder over the (B, L) prefixes and return their KV cache (no vocabulary logits)."""
    cache = DynamicCache(config=llm.config)
    llm.get_decoder()(
        input_ids=prefix_ids,
        attention_mask=prefix_mask,
        position_ids=positions(prefix_mask),
        cache=cache,
        use_cache=True,
    )
    return cache


def shared_prefix_scores(
    llm: PreTrainedModel,
    prefix_ids: torch.Tensor | None,
    prefix_mask: torch.Tensor,
    suffix: torch.Tensor,
    yes_ids: list[int],
    no_ids: list[int],
    cache: DynamicCache | None = None,
) -> torch.Tensor:
    """Score N candidates for B instructions: (B, L) prefixes × (N, S, D) suffix embeddings (or (B, N, S, D),
    one set per instruction) → (B, N) log-odds.

    The score is read at each candidate's last suffix token. `cache` (from `encode_prefix` or a prefix
    store) is consumed; the prefix ids are needed only without it.
    """
    assert suffix.dim() in (3, 4), f"suffix must be (N, S, D) or (B, N, S, D), got {tuple(suffix.shape)}"
    batch = prefix_mask.shape[0]
    n_cand, suffix_len, d = suffix.shape[-3:]
    if cache is None:
        assert prefix_ids is not None and prefix_ids.shape == prefix_mask.shape, "need (B, L) prefix ids and mask"
        cache = encode_prefix(llm, prefix_ids, prefix_mask)
    n_real = prefix_mask.long().sum(-1, keepdim=True)  # (B, 1)
    offsets = torch.arange(suffix_len, device=prefix_mask.device).repeat(n_cand)  # (N·S,)
    suffix_pos = n_real + offsets  # (B, N·S)
    embeds = suffix.reshape(-1, n_cand * suffix_len, d).expand(batch, -1, -1)  # ([B,] N, S, D) -> (B, N·S, D)
    mask = suffix_attention_mask(prefix_mask, n_cand, suffix_len)
    hidden = llm.get_decoder()(
        inputs_embeds=embeds, attention_mask=mask, position_ids=suffix_pos, cache=cache, use_cache=True
    ).last_hidden_state  # (B, N·S, D)
    last = hidden.reshape(batch, n_cand, suffix_len, d)[:, :, -1]  # (B, N, D)
    return yes_no_log_odds(llm, last, yes_ids, no_ids)


def one_pass_mask(prefix_mask: torch.Tensor, n_candidates: int, suffix_len: int) -> torch.Tensor:
    """(B, 1, L + N·S, L + N·S) mask for prefix and all suffixes in one sequence: causal prefix, suffixes
    that see the prefix and their own block only."""
    batch, prefix_len = prefix_mask.shape
    q = n_candidates * suffix_len
    causal = torch.tril(torch.ones(prefix_len, prefix_len, dtype=torch.bool, device=prefix_mask.device))
    top = causal[None, None] & prefix_mask.bool()[:, None, None, :]  # (B, 1, L, L)
    top = top | torch.eye(prefix_len, dtype=torch.bool, device=prefix_mask.device)  # padding rows see themselves
    top = torch.cat([top, top.new_zeros(batch, 1, prefix_len, q)], dim=-1)  # prefix never sees suffixes
    bottom = suffix_attention_mask(prefix_mask, n_candidates, suffix_len)  # (B, 1, N·S, L + N·S)
    return torch.cat([top, bottom], dim=2)


def one_pass_scores(
    llm: PreTrainedModel,
    prefix_ids: torch.Tensor,
    prefix_mask: torch.Tensor,
    suffix: torch.Tensor,
    yes_ids: list[int],
    no_ids: list[int],
) -> torch.Tensor:
    """Same scores as `shared_prefix_scores` from a single decoder call over [prefix, all suffixes].

    Inference only: one call instead of two saves the per-layer launch overhead that dominates short
    sequences on a CPU. Returns (B, N) log-odds.
    """
    batch, prefix_len = prefix_ids.shape
    n_cand, suffix_len, d = suffix.shape[-3:]
    prefix_embeds = llm.get_input_embeddings()(prefix_ids)  # (B, L, D)
    suffix_embeds = suffix.to(prefix_embeds.dtype).reshape(-1, n_cand * suffix_len, d).expand(batch, -1, -1)
    embeds = torch.cat([prefix_embeds, suffix_embeds], 1)
    offsets = torch.arange(suffix_len, device=prefix_ids.device).repeat(n_cand)
    pos = torch.cat([positions(prefix_mask), prefix_mask.long().sum(-1, keepdim=True) + offsets], dim=1)
    hidden = llm.get_decoder()(
        inputs_embeds=embeds,
        attention_mask=one_pass_mask(prefix_mask, n_cand, suffix_len),
        position_ids=pos,
        use_cache=False,
    ).last_hidden_state[:, prefix_len:]  # (B, N·S, D)
    last = hidden.reshape(batch, n_cand, suffix_len, d)[:, :, -1]  # (B, N, D)
    return yes_no_log_odds(llm, last, yes_ids, no_ids)


def full_forward_scores(
    llm: PreTrainedModel,
    segments: list[torch.Tensor],
    masks: list[torch.Tensor],
    yes_ids: list[int],
    no_ids: list[int],
) -> torch.Tensor:
    """Plain scoring: one full forward per sequence, built by concatenating embedding segments.

    `segments` are (R, T_i, D) embeddings and `masks` their (R, T_i) masks (left padding allowed only in
    the first segment); the score is read at the last position. Returns (R,) log-odds.
    """
    embeds = torch.cat(segments, dim=1)  # (R, ΣT, D)
    mask = torch.cat(masks, dim=1)  # (R, ΣT)
    hidden = llm.get_decoder()(
        inputs_embeds=embeds, attention_mask=mask, position_ids=positions(mask), use_cache=False
    ).last_hidden_state
    return yes_no_log_odds(llm, hidden[:, -1], yes_ids, no_ids)
