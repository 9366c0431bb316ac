"""Shared-prefix scoring gives the logits of a plain full forward over the same tokens."""

import numpy as np
import pytest
import torch

from modelsat.router.config import RouterConfig
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.llm.scoring import full_forward_scores, suffix_attention_mask

INSTRUCTIONS = ["What is the derivative of x^3?", "Name the capital of France, please, in one word."]


def cards_for(n: int, make_card):
    return [make_card(f"m{i}", [0.1 + 0.2 * i, 0.9 - 0.1 * i, 0.5]) for i in range(n)]


@pytest.mark.parametrize("capability_tokens", [1, 2, 0])
def test_shared_prefix_equals_full_forward_tiny(tiny_specs, make_card, capability_tokens):
    cfg = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], capability_tokens=capability_tokens)
    net = RouterNet.build(cfg).eval()
    with torch.no_grad():
        caps = net.capability_tokens(cards_for(3, make_card))
        ids, mask = net.prefixes(INSTRUCTIONS)
        assert mask[0].sum() < mask[1].sum(), "the test needs left padding in one row"
        shared = net.score_tokens(ids, mask, caps)
        naive = net.naive_score_tokens(ids, mask, caps)
        one_pass = net.fast_score_tokens(ids, mask, caps)
    assert shared.shape == (2, 3)
    torch.testing.assert_close(shared, naive, atol=1e-4, rtol=0)
    torch.testing.assert_close(one_pass, naive, atol=1e-4, rtol=0)
    assert shared.std() > 0


def test_shared_prefix_equals_full_forward_real_smollm2(make_card):
    net = RouterNet.build(RouterConfig()).eval()
    with torch.no_grad():
        caps = net.capability_tokens(cards_for(4, make_card))
        ids, mask = net.prefixes(INSTRUCTIONS)
        torch.testing.assert_close(
            net.score_tokens(ids, mask, caps), net.naive_score_tokens(ids, mask, caps), atol=1e-4, rtol=0
        )


def test_suffix_mask_is_block_causal_and_hides_padding():
    prefix_mask = torch.tensor([[0, 1, 1], [1, 1, 1]])
    mask = suffix_attention_mask(prefix_mask, n_candidates=2, suffix_len=2)
    assert mask.shape == (2, 1, 4, 7)
    assert not mask[0, 0, :, 0].any() and mask[1, 0, :, 0].all()
    own = mask[0, 0, :, 3:].int().tolist()
    assert own == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]


def test_card_first_order_scores_every_pair(tiny_specs, make_card):
    cfg = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], order="card-first")
    net = RouterNet.build(cfg).eval()
    with torch.no_grad():
        caps = net.capability_tokens(cards_for(3, make_card))
        scores = net.card_first_scores(INSTRUCTIONS, caps)
        # Row by row equals scoring each instruction alone (padding must not leak into the scores).
        alone = torch.cat([net.card_first_scores([text], caps) for text in INSTRUCTIONS])
    torch.testing.assert_close(scores, alone, atol=1e-4, rtol=0)


def test_instruction_pooling_scores_per_instruction_and_equals_full_forward(tiny_specs, make_card):
    cfg = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=True)
    net = RouterNet.build(cfg).eval()
    torch.nn.init.normal_(net.capability.instruction_queries.weight, std=0.5)  # trained-like, not the zero start
    with torch.no_grad():
        caps = net.capability_tokens(cards_for(3, make_card), instructions=INSTRUCTIONS)
        assert caps.shape[:2] == (2, 3) and not torch.allclose(caps[0], caps[1])
        ids, mask = net.prefixes(INSTRUCTIONS)
        shared = net.score_tokens(ids, mask, caps)
        torch.testing.assert_close(shared, net.naive_score_tokens(ids, mask, caps), atol=1e-4, rtol=0)
        torch.testing.assert_close(net.fast_score_tokens(ids, mask, caps), shared, atol=1e-4, rtol=0)
        alone = torch.cat([net.score_tokens(ids[i : i + 1], mask[i : i + 1], caps[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(shared, alone, atol=1e-4, rtol=0)


@pytest.mark.parametrize("instruction_pooling", [True, False])
def test_routing_service_reuses_the_cards_connector_outputs(tiny_specs, make_card, instruction_pooling, monkeypatch):
    from modelsat.router.routing.llm.inference import score_in_batches
    from modelsat.router.routing.llm.scorer import LlmScorer
    from modelsat.router.routing.routing_text import RoutingTextReader
    from modelsat.router.routing.service import RoutingService

    cfg = RouterConfig(
        llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=instruction_pooling, perturbations=2
    )
    net = RouterNet.build(cfg).eval()
    if instruction_pooling:
        torch.nn.init.normal_(net.capability.instruction_queries.weight, std=0.5)
    cards = cards_for(3, make_card)
    fresh = score_in_batches(net, INSTRUCTIONS, cards, batch_size=1)
    reader = RoutingTextReader.for_router(net.llm_tokenizer, cfg)
    service = RoutingService(LlmScorer(net, bf16=False), {c.model: c for c in cards}, reader, "full")
    calls = []
    connector = net.capability.connector.forward
    monkeypatch.setattr(net.capability.connector, "forward", lambda x: calls.append(x.shape) or connector(x))
    first = service.score_instructions(INSTRUCTIONS)
    again = [service.score_instructions([text])[0] for text in INSTRUCTIONS]
    assert len(calls) == 2, "one connector pass per clause order, then none for later instructions"
    np.testing.assert_allclose(first, fresh, atol=1e-5)
    np.testing.assert_allclose(np.stack(again), fresh, atol=1e-5)
    subset = service.score_instructions(INSTRUCTIONS, models=["m2", "m0"])
    np.testing.assert_allclose(subset, fresh[:, [2, 0]], atol=1e-5)
    assert len(calls) == 4, "another candidate list gets its own connector outputs"


def suffix_lora_net(tiny_specs) -> RouterNet:
    """Tiny router with suffix-scoped LoRA attached and its adapters moved off their zero start."""
    from modelsat.router.routing.llm.adapters import add_llm_lora

    cfg = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], lora={"r": 2, "scope": "suffix"})
    net = RouterNet.build(cfg)
    add_llm_lora(net, cfg.lora)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in net.llm.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    return net.eval()


def test_suffix_scoped_lora_keeps_the_base_prefix_and_every_scoring_path_agrees(tiny_specs, make_card):
    net = suffix_lora_net(tiny_specs)
    with torch.no_grad():
        caps = net.capability_tokens(cards_for(3, make_card))
        ids, mask = net.prefixes(INSTRUCTIONS)
        shared = net.score_tokens(ids, mask, caps)
        naive = net.naive_score_tokens(ids, mask, caps)
        fast = net.fast_score_tokens(ids, mask, caps)
        with net.llm.disable_adapter():
            base = net.score_tokens(ids, mask, caps)
        suffix = net.suffixes(caps)
        n = suffix.shape[0]
        rows_mask = mask.repeat_interleave(n, dim=0)
        every_token = full_forward_scores(  # adapters on the prefix too: what scope 'all' computes
            net.llm,
            [net.llm.get_input_embeddings()(ids).repeat_interleave(n, dim=0), suffix.repeat(2, 1, 1)],
            [rows_mask, torch.ones(2 * n, suffix.shape[1], dtype=rows_mask.dtype)],
            net.layout.yes_ids,
            net.layout.no_ids,
        ).reshape(2, n)
    torch.testing.assert_close(shared, naive, atol=1e-4, rtol=0)
    torch.testing.assert_close(fast, shared, atol=1e-4, rtol=0)
    assert (shared - base).abs().max() > 1e-2, "the adapters change the suffixes' scores"
    assert (shared - every_token).abs().max() > 1e-2, "the prefix is encoded without the adapters"


def test_suffix_scoped_lora_refuses_the_card_first_order(tiny_specs):
    with pytest.raises(ValueError, match="instruction-first"):
        RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], order="card-first", lora={"scope": "suffix"})
