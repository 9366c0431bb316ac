"""Task prototypes (`router.readout_keys: prototypes`): built from aptitude questions, saved with the router,
read by the accuracy readout in a card's task order."""

import pytest
import torch
from test_router_training import TINY_TRAIN, synthetic_outcomes

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.errors import DataError, RouterError
from modelsat.router.config import ModelsatConfig, RouterConfig
from modelsat.router.model import RouterNet
from modelsat.router.prototypes import (
    PROTOTYPES_FILE,
    load_prototypes,
    prototype_keys,
    save_prototypes,
    task_prototypes,
)
from modelsat.router.service import load_router
from modelsat.router.train import set_stage, train_router

APTITUDE = AptitudeSet(
    tasks=(CoreTask("math", "Algebra", ("q1", "q2")), CoreTask("law", "Contracts", ("q3",))), zoo=("m",), seed=0
)
VECTORS = {"solve": [3.0, 0.0], "integrate": [0.0, 1.0], "sue": [0.0, -2.0]}


def embed(texts: list[str]) -> torch.Tensor:
    return torch.tensor([VECTORS[t] for t in texts])


def test_a_prototype_is_the_normalised_mean_of_its_questions_unit_embeddings(tmp_path) -> None:
    prompts = {"q1": "solve", "q2": "integrate", "q3": "sue"}
    prototypes = task_prototypes(embed, APTITUDE, prompts)
    half = 2**-0.5
    assert prototypes["math"].tolist() == pytest.approx([half, half])  # not pulled toward the longer vector
    assert prototypes["law"].tolist() == pytest.approx([0.0, -1.0])
    save_prototypes(prototypes, tmp_path / PROTOTYPES_FILE)
    loaded = load_prototypes(tmp_path / PROTOTYPES_FILE)
    assert prototype_keys(loaded, ["law", "math"]).flatten().tolist() == pytest.approx([0.0, -1.0, half, half])
    with pytest.raises(RouterError, match="'chess' has no prototype"):
        prototype_keys(loaded, ["math", "chess"])
    with pytest.raises(DataError, match="no prompt for 1 aptitude question"):
        task_prototypes(embed, APTITUDE, {"q1": "solve", "q2": "integrate"})
    with pytest.raises(RouterError, match="missing"):
        load_prototypes(tmp_path / "nowhere" / PROTOTYPES_FILE)


def test_the_readout_weighs_accuracies_by_the_instructions_nearest_prototype(tiny_specs, make_card) -> None:
    router = RouterConfig(
        llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], accuracy_readout=True, readout_keys="prototypes"
    )
    net = RouterNet.build(router)
    cards = [make_card("a", [0.9, 0.1, 0.5]), make_card("b", [0.1, 0.9, 0.5])]
    with pytest.raises(RouterError, match="none are loaded"):
        net.readout_scores(cards, torch.ones(1, 4))
    instructions = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    net.prototypes = {"t0": torch.tensor([1.0, 0.0, 0.0, 0.0]), "t1": torch.tensor([0.0, 1.0, 0.0, 0.0])}
    net.prototypes["t2"] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    net.capability.readout.log_temperature.data.fill_(5.0)  # sharp: the nearest task decides
    with torch.no_grad():
        scores = net.readout_scores(cards, instructions)
    assert scores.argmax(dim=1).tolist() == [0, 1]


def test_training_with_prototype_keys_ships_them_and_routing_reads_them(tiny_specs, tmp_path) -> None:
    outcomes = synthetic_outcomes()
    router = {
        "llm": tiny_specs["llm"],
        "encoder": tiny_specs["encoder"],
        "accuracy_readout": True,
        "readout_keys": "prototypes",
    }
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 2}})
    train_router(outcomes, ["mathy", "historian"], cfg, tmp_path)
    aptitude = AptitudeSet.load(tmp_path / "aptitude.json")
    prototypes = load_prototypes(tmp_path / PROTOTYPES_FILE)
    assert sorted(prototypes) == sorted(t.name for t in aptitude.tasks)
    assert all(v.norm().item() == pytest.approx(1.0, abs=1e-4) for v in prototypes.values())
    loaded = load_router(tmp_path, bf16="off", calibrated=False)
    scores = loaded.score_instructions(["Solve 2x = 4.", "Who won at Hastings?"], ["mathy", "historian"])
    assert scores.shape == (2, 2)
    (tmp_path / PROTOTYPES_FILE).unlink()
    with pytest.raises(RouterError, match="prototypes"):
        load_router(tmp_path, bf16="off", calibrated=False)


def test_the_readout_has_a_learning_rate_of_its_own(tiny_specs) -> None:
    router = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], accuracy_readout=True)
    cfg = ModelsatConfig.model_validate({"router": router.model_dump(), "train": {"lr_readout": 0.05}})
    optimizer = set_stage(RouterNet.build(cfg.router), cfg, stage=1)
    rates = [(len(g["params"]), g["lr"]) for g in optimizer.param_groups]
    assert rates[-1] == (2, 0.05) and rates[0][1] == cfg.train.lr_connector
