"""The prefix store gives the same scores as a fresh prefix forward, and is reused only for the same prompts."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from modelsat.router.config import RouterConfig
from modelsat.router.routing.llm.inference import autocast, score_in_batches
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.training.prefix_store import KV_FILE, PrefixStore, score_stored

PROMPTS = [
    "What is the derivative of x^3?",
    "Name the capital of France, please, in one word.",
    "Which enzyme unwinds the DNA double helix during replication?",
]


def cards_for(n: int, make_card):
    return [make_card(f"m{i}", [0.1 + 0.2 * i, 0.9 - 0.1 * i, 0.5]) for i in range(n)]


def stored_and_fresh(
    net: RouterNet, store: PrefixStore, cards, rows: np.ndarray, bf16: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad(), autocast(net.device, bf16):
        mask, cache, embedded = store.batch(rows, torch.bfloat16 if bf16 else torch.float32)
        stored = net(mask, cards, cache=cache, embedded=embedded)
        instructions = [PROMPTS[i] for i in rows]
        ids, fresh_mask = net.prefixes(instructions)
        fresh = net(fresh_mask, cards, prefix_ids=ids, instructions=instructions)
    return stored, fresh


@pytest.mark.parametrize("instruction_pooling", [False, True])
def test_stored_prefixes_score_like_a_fresh_forward_tiny(tiny_specs, make_card, tmp_path, instruction_pooling):
    cfg = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=instruction_pooling)
    net = RouterNet.build(cfg).eval()
    store = PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False, batch_size=2)
    assert (store.embeddings is not None) == instruction_pooling
    rows = np.array([2, 0])  # another order and batch than the store was built with: padding differs
    stored, fresh = stored_and_fresh(net, store, cards_for(3, make_card), rows)
    assert stored.shape == (2, 3) and stored.std() > 0
    torch.testing.assert_close(stored, fresh, atol=1e-4, rtol=0)


def test_stored_prefixes_score_like_a_fresh_forward_real_smollm2(make_card, tmp_path):
    torch.manual_seed(0)
    net = RouterNet.build(RouterConfig()).eval()
    cards = cards_for(4, make_card)
    exact = PrefixStore.open_or_build(net, PROMPTS, tmp_path / "fp32", bf16=False)
    stored, fresh = stored_and_fresh(net, exact, cards, np.array([1, 2, 0]))
    torch.testing.assert_close(stored, fresh, atol=1e-4, rtol=0)
    assert exact.kv.dtype == np.float32
    halved = PrefixStore.open_or_build(net, PROMPTS, tmp_path / "bf16", bf16=True)
    assert halved.kv.nbytes * 2 == exact.kv.nbytes
    rounded, fresh_bf16 = stored_and_fresh(net, halved, cards, np.array([1, 2, 0]), bf16=True)
    torch.testing.assert_close(rounded, fresh_bf16, atol=1e-3, rtol=0)  # as a bf16 training step computes it
    # bf16 rows under fp32 compute (the default training store on a CPU without bf16): KV rounding only
    rows_only = PrefixStore.open_or_build(net, PROMPTS, tmp_path / "rows", bf16=False, rows_bf16=True)
    assert rows_only.kv.dtype == np.uint16
    rounded_rows, _ = stored_and_fresh(net, rows_only, cards, np.array([1, 2, 0]))
    torch.testing.assert_close(rounded_rows, fresh, atol=5e-2, rtol=0)
    assert not torch.equal(rounded_rows, fresh)


@pytest.mark.parametrize("perturbations", [1, 2])
@pytest.mark.parametrize("instruction_pooling", [False, True])
def test_scoring_from_a_store_equals_scoring_afresh(
    tiny_specs, make_card, tmp_path, instruction_pooling, perturbations
):
    cfg = RouterConfig(
        llm=tiny_specs["llm"],
        encoder=tiny_specs["encoder"],
        instruction_pooling=instruction_pooling,
        capability_tokens=1 if instruction_pooling else 0,
        perturbations=perturbations,
    )
    net = RouterNet.build(cfg).train()
    store = PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False, batch_size=2)
    cards = cards_for(3, make_card)
    stored = score_stored(net, store, cards, batch_size=2)
    assert net.training, "scoring leaves the network in the mode it found it in"
    fresh = score_in_batches(net.eval(), PROMPTS, cards, batch_size=3)
    assert stored.shape == (3, 3) and stored.std() > 0
    np.testing.assert_allclose(stored, fresh, atol=1e-4, rtol=0)


def test_a_store_of_the_other_row_dtype_is_rebuilt(tiny_specs, tmp_path):
    net = RouterNet.build(RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"])).eval()
    assert PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False).kv.dtype == np.float32
    assert PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False, rows_bf16=True).kv.dtype == np.uint16


def test_store_is_reused_for_the_same_prompts_and_rebuilt_for_others(tiny_specs, tmp_path):
    net = RouterNet.build(RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"])).eval()
    PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False)
    built = (tmp_path / KV_FILE).stat().st_mtime_ns
    again = PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False)
    assert (tmp_path / KV_FILE).stat().st_mtime_ns == built
    other = PrefixStore.open_or_build(net, PROMPTS[:2], tmp_path, bf16=False)
    assert len(again.lengths) == 3 and len(other.lengths) == 2
    assert (tmp_path / KV_FILE).stat().st_mtime_ns != built


def test_store_is_skipped_when_the_disk_cannot_hold_it(tiny_specs, tmp_path, monkeypatch):
    net = RouterNet.build(RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"])).eval()
    monkeypatch.setattr("modelsat.router.training.prefix_store.shutil.disk_usage", lambda _: SimpleNamespace(free=1000))
    assert PrefixStore.open_or_build(net, PROMPTS, tmp_path, bf16=False) is None
    assert not (tmp_path / KV_FILE).exists()
