"""Partial cards in the capability LLM's path and in training (tiny random-weight models for the mechanics; the
shipped specialists cards for what card dropout drops)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from router_doubles import TINY_TRAIN, synthetic_outcomes

from modelsat.aptitude.cards import TaskScore, load_cards
from modelsat.data.kinds import kind_of
from modelsat.errors import RouterError
from modelsat.router.config import ModelsatConfig, RouterConfig
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.service import load_router
from modelsat.router.training.card_dropout import drop_entries
from modelsat.router.training.train import train_router

SPECIALISTS = Path(__file__).resolve().parents[3] / "routers" / "specialists"


def test_card_dropout_marks_whole_kinds_untested_and_keeps_one() -> None:
    card = load_cards(SPECIALISTS / "cards.json")["dolphin-2.9-llama3-8b"]
    rng = np.random.default_rng(0)
    assert drop_entries(card, rng, 0.0) is card
    seen = set()
    for _ in range(50):
        partial = drop_entries(card, rng, 1.0)
        kinds_tested = {kind_of(s.task) for s in partial.scores if s.tested}
        kinds_untested = {kind_of(s.task) for s in partial.scores if not s.tested}
        assert partial.is_partial and kinds_tested and not kinds_tested & kinds_untested
        assert [s.accuracy for s in partial.scores if s.tested] == [
            s.accuracy for s in card.scores if kind_of(s.task) in kinds_tested
        ]
        seen |= kinds_untested
    assert seen == {"reasoning", "chinese", "math", "code", "knowledge"}


def test_a_partial_card_pools_alone_as_it_does_beside_full_cards_and_its_clauses_name_the_untested(
    tiny_specs, make_card
) -> None:
    router = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=True)
    net = RouterNet.build(router).eval()
    full = make_card("full", [0.2, 0.9, 0.5])
    untested = [TaskScore(s.task, s.description, None) for s in full.scores[1:]]
    partial = replace(full, model="partial", scores=[full.scores[0], *untested])
    assert partial.clauses(router.clause_template) == [
        full.clauses(router.clause_template)[0],
        'not tested: "Law, Contracts", "Biology, Cells"',
    ]  # two clauses beside the full card's three: padded and masked when pooled together
    with torch.no_grad():
        together = net.capability_tokens([full, partial], order_seed=3, instructions=["Solve 2x = 4."])
        alone = net.capability_tokens([partial], order_seed=3, instructions=["Solve 2x = 4."])
        first = net.capability_tokens([full], order_seed=3, instructions=["Solve 2x = 4."])
    torch.testing.assert_close(together[:, 1], alone[:, 0])
    torch.testing.assert_close(together[:, 0], first[:, 0])
    flat = RouterNet.build(RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], capability_tokens=0))
    with pytest.raises(RouterError, match="partial cards need pooled capability tokens"):
        flat.capability_tokens([full, partial])


def test_a_router_trains_with_card_dropout_and_routes_partial_cards(tiny_specs, tmp_path) -> None:
    router = {
        "llm": tiny_specs["llm"],
        "encoder": tiny_specs["encoder"],
        "instruction_pooling": True,
        "accuracy_readout": True,
        "readout_keys": "prototypes",
    }
    cfg = ModelsatConfig.model_validate(
        {"router": router, "train": TINY_TRAIN | {"stage1_steps": 2, "card_dropout": 1.0}}
    )
    result = train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    assert [h["step"] for h in result.history] == [0, 2]
    service = load_router(tmp_path, bf16="off", calibrated=False, mode="full")
    cards = dict(service.cards)
    math_task = next(s.task for s in cards["mathy"].scores if "mathematics" in s.task)
    cards["mathy"] = replace(
        cards["mathy"],
        scores=[TaskScore(s.task, s.description, None) if s.task == math_task else s for s in cards["mathy"].scores],
    )
    for mode in ("full", "fast"):
        scores = service.with_cards(cards).with_mode(mode).score_instructions(["Compute the integral of x^2."])
        assert scores.shape == (1, 2) and np.isfinite(scores).all()
