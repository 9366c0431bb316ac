"""The accuracy readout (`router.accuracy_readout`) and models held out of the loss for checkpoint selection."""

import math

import pandas as pd
import pytest
import torch
from router_doubles import STAGE1_INSTRUCTIONS, TINY_TRAIN, stage1_backward, synthetic_outcomes

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.errors import ConfigError
from modelsat.router.config import ModelsatConfig, RouterConfig, TrainConfig
from modelsat.router.routing.capability import AccuracyReadout, slot_prior
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.llm.inference import score_in_batches
from modelsat.router.routing.service import load_router
from modelsat.router.training.train import routed_accuracy, train_router
from modelsat.router.training.training_data import ScoreMatrix
from modelsat.router.training.zoo_blocks import selection_models


def test_readout_reads_the_clause_nearest_the_instruction_and_ignores_facts() -> None:
    readout = AccuracyReadout(temperature=200.0)
    instructions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    clauses = torch.tensor([[[1.0, 0.1, 0.0], [0.1, 1.0, 0.0], [0.0, 1.0, 0.0]]]).expand(2, -1, -1)
    accuracy = torch.tensor([[0.8, 0.3, 0.0], [0.4, 0.6, 0.0]])
    prior = torch.tensor([[0.0, 0.0, -math.inf], [0.0, 0.0, -math.inf]])  # a fact clause: it matches instruction 2 best
    scores = readout(instructions, clauses, accuracy, prior)
    assert scores[0].tolist() == pytest.approx([math.log(0.8 / 0.2), math.log(0.4 / 0.6)], abs=1e-3)
    assert scores[1].tolist() == pytest.approx([math.log(0.3 / 0.7), math.log(0.6 / 0.4)], abs=1e-3)


def test_readout_ranks_a_card_stronger_than_any_seen_above_the_rest(make_card) -> None:
    readout = AccuracyReadout()
    clauses = torch.randn(1, 3, 8).expand(3, -1, -1)
    cards = torch.tensor([[0.2, 0.3, 0.4], [0.4, 0.5, 0.3], [0.9, 0.95, 0.85]])
    scores = readout(torch.randn(5, 8), clauses, cards, torch.zeros(3, 3))
    assert (scores.argmax(dim=1) == 2).all()


def test_readout_trains_with_the_connector_and_every_scoring_path_adds_it(tiny_specs, make_card) -> None:
    router = RouterConfig(
        llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=True, accuracy_readout=True
    )
    net, cards, ids, mask = stage1_backward(router, make_card)
    instructions = STAGE1_INSTRUCTIONS
    assert net.capability.readout.weight.grad is not None and net.capability.readout.log_temperature.grad is not None
    net.eval()
    with torch.no_grad():
        trained = net(mask, cards, prefix_ids=ids, instructions=instructions)
        embedded = net.capability.embed_texts(instructions)
        without = trained - net.readout_scores(cards, embedded)
    assert score_in_batches(net, instructions, cards) == pytest.approx(trained.numpy(), abs=1e-4)
    assert not torch.allclose(trained, without)


def test_selection_models_spread_over_the_zoo_strength_and_leave_two_to_train() -> None:
    outcomes = synthetic_outcomes()
    levels = {"weak": 0.1, "low": 0.3, "mid": 0.5, "high": 0.7, "top": 0.9}
    rows = [
        outcomes[outcomes["model"] == "mathy"].assign(model=m, score=lambda d, p=p: (d.index % 10 < 10 * p) * 1.0)
        for m, p in levels.items()
    ]
    table = pd.concat(rows, ignore_index=True)
    zoo = list(levels)
    assert selection_models(table, zoo, TrainConfig(selection_models=0), frozenset()) == []
    assert selection_models(table, zoo, TrainConfig(selection_models=1), frozenset()) == ["mid"]
    assert selection_models(table, zoo, TrainConfig(selection_models=3), frozenset()) == ["low", "mid", "high"]
    with pytest.raises(ConfigError, match="fewer than 2"):
        selection_models(table, zoo, TrainConfig(selection_models=4), frozenset())


def test_models_held_out_of_the_loss_join_validation_by_card(tiny_specs, tmp_path) -> None:
    outcomes = synthetic_outcomes()
    third = outcomes[outcomes["model"] == "mathy"].assign(model="mathy-too")
    outcomes = pd.concat([outcomes, third])
    zoo = ["mathy", "historian", "mathy-too"]
    train = TINY_TRAIN | {"stage1_steps": 2, "selection_models": 1, "prefix_store": True}
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "accuracy_readout": True}
    cfg = ModelsatConfig.model_validate({"router": router, "train": train})
    result = train_router(outcomes, zoo, cfg, tmp_path)
    held = read_router_config(tmp_path)[1]["selection_models"]
    assert len(held) == 1 and held[0] in zoo
    aptitude = AptitudeSet.load(tmp_path / "aptitude.json")
    val = ScoreMatrix.from_outcomes(outcomes, zoo, "validation", exclude=aptitude.query_ids).subset(
        cfg.train.val_queries, cfg.train.seed
    )
    router = load_router(tmp_path, bf16="off", calibrated=False, mode="full")
    assert sorted(router.models) == sorted(zoo)
    fresh = router.score_instructions(val.prompts, zoo)  # validation scored every card, the held-out one too
    assert routed_accuracy(fresh, val) == pytest.approx(result.best_val_score)


def test_the_readout_weighs_the_tasks_some_candidate_was_tested_on_and_every_kind_alike() -> None:
    nan = float("nan")
    measured = torch.tensor([[0.8, nan, nan, 0.5, 0.4], [nan, nan, 0.6, 0.5, 0.3]])  # nobody tested on task 1
    kinds = ["knowledge", "knowledge", "code", "knowledge", "chat"]
    prior = slot_prior(measured, kinds)
    assert prior[1] == -math.inf
    assert prior[[0, 3]].tolist() == pytest.approx([-math.log(2)] * 2)  # two knowledge tasks share one kind's weight
    assert prior[[2, 4]].tolist() == [0.0, 0.0]
    assert slot_prior(measured, [None] * 5)[[0, 2, 3, 4]].tolist() == [0.0] * 4  # one kind: no balancing
    assert slot_prior(torch.tensor([[0.5, 0.6]]), ["math", "code"]).tolist() == [0.0, 0.0]  # full cards as before
    nobody = slot_prior(torch.full((2, 3), nan), ["a", "b", "a"])  # every task read by its prior, kinds alike
    assert nobody.tolist() == pytest.approx([-math.log(2), 0.0, -math.log(2)])
