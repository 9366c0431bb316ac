"""Training mechanics on tiny random-weight models: what stage 1 trains, losses, checkpoints, resume,
the calibration a router routes with."""

import numpy as np
import pandas as pd
import pytest
import torch
from router_doubles import TINY_TRAIN, stage1_backward, synthetic_outcomes

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.errors import ConfigError
from modelsat.evaluation.frontier import validation_aiq
from modelsat.router.config import ModelsatConfig, RouterConfig, TrainConfig
from modelsat.router.routing.calibration import CALIBRATION_FILE, Calibration
from modelsat.router.routing.llm.loading import load_trainable_state, trainable_state
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.service import load_router
from modelsat.router.training import train as train_module
from modelsat.router.training.losses import card_group_loss, instruction_listwise_loss, pointwise_loss
from modelsat.router.training.train import (
    card_subset,
    lr_at,
    routed_accuracy,
    set_stage,
    train_router,
    validation_costs,
)
from modelsat.router.training.training_data import ScoreMatrix


@pytest.mark.parametrize("instruction_pooling", [False, True])
def test_stage1_gradients_reach_the_connector_and_nothing_else(tiny_specs, make_card, instruction_pooling):
    router = RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"], instruction_pooling=instruction_pooling)
    net, _, _, _ = stage1_backward(router, make_card)
    with_grad = {n for n, p in net.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert with_grad, "no parameter received a gradient"
    assert all(n.startswith("capability.") and not n.startswith("capability.encoder.") for n in with_grad)
    assert any(n.startswith("capability.connector.") for n in with_grad)
    assert any(n.startswith("capability.instruction_queries.") for n in with_grad) == instruction_pooling
    assert not any(p.requires_grad for p in net.llm.parameters())


def test_stage2_adds_lora_adapters_only(tiny_specs):
    cfg = ModelsatConfig.model_validate(
        {"router": {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "lora": {"r": 2}}}
    )
    net = RouterNet.build(cfg.router)
    optimizer = set_stage(net, cfg, stage=2)
    trainable_llm = [n for n, p in net.llm.named_parameters() if p.requires_grad]
    assert trainable_llm and all("lora_" in n for n in trainable_llm)
    assert [g["lr"] for g in optimizer.param_groups] == [cfg.train.lr_connector, cfg.train.lr_llm]


def test_stage2_train_encoder_tunes_the_encoder_and_the_router_carries_it(tiny_specs, make_card):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "instruction_pooling": True}
    cfg = ModelsatConfig.model_validate({"router": router, "train": {"stage2_train_encoder": True}})
    net = RouterNet.build(cfg.router)
    optimizer = set_stage(net, cfg, stage=2)
    cards = [make_card("a", [0.2, 0.9, 0.5]), make_card("b", [0.8, 0.1, 0.5])]
    instructions = ["Solve 2x = 4.", "Who wrote Hamlet?"]
    ids, mask = net.prefixes(instructions)
    scores = net(mask, cards, prefix_ids=ids, instructions=instructions)
    instruction_listwise_loss(scores, torch.tensor([[1.0, 0.0], [0.0, 1.0]])).backward()
    assert any(n.startswith("capability.encoder.") and p.grad.abs().sum() > 0 for n, p in net.named_parameters())
    optimizer.step()
    net.clause_cache.clear()
    state = trainable_state(net)
    assert any(k.startswith("capability.encoder.") for k in state)
    reloaded = RouterNet.build(cfg.router)
    load_trainable_state(reloaded, state)
    with torch.no_grad():
        caps = [m.eval().capability_tokens(cards, instructions=instructions) for m in (net, reloaded)]
        fresh = RouterNet.build(cfg.router).eval().capability_tokens(cards, instructions=instructions)
    torch.testing.assert_close(caps[0], caps[1])
    assert (caps[0] - fresh).abs().max() > 0, "the step changed the capability tokens"


def test_card_group_loss_puts_the_positive_first():
    targets = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
    good = torch.tensor([[5.0], [0.0], [0.0], [0.0]])
    bad = torch.tensor([[0.0], [5.0], [5.0], [5.0]])
    g = torch.Generator().manual_seed(0)
    assert card_group_loss(good, targets, 4, g) < 0.1 < card_group_loss(bad, targets, 4, g)


def test_card_group_loss_skips_cards_without_both_kinds():
    scores = torch.zeros(3, 2, requires_grad=True)
    targets = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])  # card 1 has no negative
    loss = card_group_loss(scores, targets, 3, torch.Generator().manual_seed(0))
    loss.backward()
    assert scores.grad[:, 1].abs().sum() == 0 and scores.grad[:, 0].abs().sum() > 0


def test_listwise_loss_ignores_unanimous_rows_and_rewards_right_models():
    targets = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    right = torch.tensor([[4.0, 0.0, 0.0], [0.0, 9.0, 0.0], [9.0, 0.0, 0.0]])
    wrong = torch.tensor([[0.0, 4.0, 0.0], [0.0, 9.0, 0.0], [9.0, 0.0, 0.0]])
    assert instruction_listwise_loss(right, targets) < instruction_listwise_loss(wrong, targets)
    assert instruction_listwise_loss(torch.zeros(1, 3), targets[1:2]) == 0


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(warmup_steps=10)
    assert lr_at(0, 100, cfg) == pytest.approx(0.1)
    assert lr_at(9, 100, cfg) == pytest.approx(1.0)
    assert lr_at(99, 100, cfg) < lr_at(50, 100, cfg) < 1.0


def test_card_subsets_draw_stronger_models_more_often_when_weighted():
    accuracy = np.array([0.5, 0.5, 0.2, 0.2, 0.2, 0.2])
    rng = np.random.default_rng(0)
    draws = [card_subset(8, 3, rng, accuracy**2) for _ in range(4000)]
    assert all(len(set(d)) == 3 and list(d) == sorted(d) for d in draws)
    share = np.bincount(np.concatenate(draws), minlength=8) / len(draws)
    assert share[:2].min() > 1.5 * share[2:6].max()  # strong real models
    assert share[2:6].max() < share[6:].min()  # two mixed cards draw at the mean weight, above the weak ones
    uniform = np.bincount(np.concatenate([card_subset(8, 3, rng, None) for _ in range(4000)]), minlength=8) / 4000
    assert np.allclose(uniform, 3 / 8, atol=0.04)


def test_training_writes_router_and_resumes_after_a_kill(tiny_specs, tmp_path):
    outcomes = synthetic_outcomes()
    overrides = TINY_TRAIN | {"stage1_steps": 4, "checkpoint_every": 2}
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    short = ModelsatConfig.model_validate({"router": router, "train": overrides | {"stage1_steps": 2}})
    first = train_router(outcomes, ["mathy", "historian"], short, tmp_path)
    assert [h["step"] for h in first.history] == [0, 2]
    for name in ("config.yaml", "aptitude.json", "cards.json", "weights.safetensors", "metrics.json"):
        assert (tmp_path / name).is_file(), name
    full = ModelsatConfig.model_validate({"router": router, "train": overrides})
    resumed = train_router(outcomes, ["mathy", "historian"], full, tmp_path, resume=True)
    assert [h["step"] for h in resumed.history] == [0, 2, 4]
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)["step"] == 4


def test_lora_last_layers_adapts_only_the_top_layers(tiny_specs):
    cfg = ModelsatConfig.model_validate(
        {"router": {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "lora": {"r": 2, "last_layers": 1}}}
    )
    net = RouterNet.build(cfg.router)
    set_stage(net, cfg, stage=2)
    top = net.llm.config.num_hidden_layers - 1
    adapted = {n for n, p in net.llm.named_parameters() if p.requires_grad}
    assert adapted and all(f".layers.{top}." in n for n in adapted)


def test_pointwise_loss_rewards_calibrated_probabilities():
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert pointwise_loss(torch.tensor([[4.0, -4.0], [-4.0, 4.0]]), targets) < 0.1
    assert pointwise_loss(torch.tensor([[-4.0, 4.0], [4.0, -4.0]]), targets) > 2.0


def test_card_subsets_train_from_the_prefix_store_and_free_it_afterwards(tiny_specs, tmp_path):
    outcomes = synthetic_outcomes()
    third = outcomes[outcomes["model"] == "mathy"].assign(model="mathy-too")
    zoo = ["mathy", "historian", "mathy-too"]
    train = TINY_TRAIN | {"stage1_steps": 3, "cards_per_step": 2, "prefix_store": True}
    cfg = ModelsatConfig.model_validate(
        {"router": {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}, "train": train}
    )
    outcomes = pd.concat([outcomes, third])
    result = train_router(outcomes, zoo, cfg, tmp_path)
    assert [h["step"] for h in result.history] == [0, 2, 3]
    assert (tmp_path / "weights.safetensors").is_file()
    for store in ("prefixes", "val-prefixes"):
        assert not (tmp_path / "checkpoints" / store).exists(), f"the {store} store is removed after training"
    # validation read its prefixes from a store: the saved (best) weights score the same afresh
    aptitude = AptitudeSet.load(tmp_path / "aptitude.json")
    val = ScoreMatrix.from_outcomes(outcomes, zoo, "validation", exclude=aptitude.query_ids).subset(
        cfg.train.val_queries, cfg.train.seed
    )
    fresh = load_router(tmp_path, bf16="off", calibrated=False, mode="full").score_instructions(val.prompts, zoo)
    assert routed_accuracy(fresh, val) == pytest.approx(result.best_val_score)


def test_suffix_scoped_lora_trains_in_stage_2_from_the_prefix_store(tiny_specs, tmp_path, monkeypatch):
    def no_fresh_prefixes(*_args, **_kwargs):
        raise AssertionError("a fresh prefix forward: the stores were not used")

    monkeypatch.setattr(RouterNet, "prefixes", no_fresh_prefixes)
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "lora": {"r": 2, "scope": "suffix"}}
    train = TINY_TRAIN | {"stage1_steps": 2, "stage2_steps": 2, "prefix_store": True, "checkpoint_every": 2}
    cfg = ModelsatConfig.model_validate({"router": router, "train": train})
    result = train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    assert [h["step"] for h in result.history] == [0, 2, 4]
    saved = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert saved["stage"] == 2 and any(k.startswith("llm.") and "lora_" in k for k in saved["weights"])


def test_stage2_train_encoder_runs_after_stage_1_from_the_prefix_store(tiny_specs, tmp_path):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "instruction_pooling": True}
    train = TINY_TRAIN | {"stage1_steps": 2, "stage2_steps": 2, "prefix_store": True, "stage2_train_encoder": True}
    cfg = ModelsatConfig.model_validate({"router": router, "train": train})
    result = train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    assert [h["step"] for h in result.history] == [0, 2, 4]
    weights = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)["weights"]
    base = RouterNet.build(cfg.router).capability.encoder.state_dict()
    tuned = {k.removeprefix("capability.encoder."): v for k, v in weights.items() if "encoder." in k}
    assert tuned.keys() == base.keys()
    assert any(not torch.equal(tuned[k], base[k].float()) for k in base), "stage 2 moved the encoder"


def test_a_trained_router_routes_with_its_calibration_unless_asked_not_to(tiny_specs, tmp_path):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 2}})
    train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    calibration = Calibration(scale=0.5, bias=-1.0, n_queries=1, log_loss_raw=1.0, log_loss_calibrated=1.0)
    calibration.save(tmp_path / CALIBRATION_FILE)
    prompts = ["Compute the integral of x #1?", "Which president signed the treaty #2?"]
    raw = load_router(tmp_path, bf16="off", calibrated=False, mode="full").score_instructions(prompts)
    calibrated = load_router(tmp_path, bf16="off", mode="full").score_instructions(prompts)
    np.testing.assert_allclose(calibrated, 0.5 * raw - 1.0, atol=1e-5)


def test_new_weights_drop_a_stale_calibration(tiny_specs, tmp_path):
    (tmp_path / CALIBRATION_FILE).write_text("{}")  # from an earlier router in the same folder
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 2}})
    train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    path = tmp_path / CALIBRATION_FILE
    assert not path.is_file() or path.read_text() != "{}", "the stale calibration must not survive"
    if path.is_file():  # refitted to the new weights at the end of training (when their scores rank at all)
        assert Calibration.load(path).n_queries == 16


def test_a_time_budget_ends_training_early_with_a_complete_router(tiny_specs, tmp_path):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    train = TINY_TRAIN | {"stage1_steps": 1000, "eval_every": 500, "max_minutes": 0.001}  # spent before step 1
    result = train_router(
        synthetic_outcomes(),
        ["mathy", "historian"],
        ModelsatConfig.model_validate({"router": router, "train": train}),
        tmp_path,
    )
    assert [h["step"] for h in result.history] == [0, 10], "stops at the first plan, with a final validation"
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)["step"] == 10
    for name in ("config.yaml", "aptitude.json", "cards.json", "weights.safetensors", "metrics.json"):
        assert (tmp_path / name).is_file(), name


def test_training_validates_and_checkpoints_the_average(tiny_specs, tmp_path, monkeypatch):
    seen: list[dict[str, torch.Tensor]] = []
    original = train_module.validation_scores

    def recording(net, *args, **kwargs):
        seen.append({k: v.clone() for k, v in trainable_state(net).items()})
        return original(net, *args, **kwargs)

    monkeypatch.setattr(train_module, "validation_scores", recording)
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    train = TINY_TRAIN | {
        "stage1_steps": 4,
        "eval_every": 4,
        "checkpoint_every": 4,
        "ema_decay": 0.5,
        "prefix_store": False,
    }
    cfg = ModelsatConfig.model_validate({"router": router, "train": train | {"lr_connector": 0.05}})
    train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=False)
    assert checkpoint["average"]["updates"] == 4
    averaged, raw = checkpoint["average"]["weights"], checkpoint["weights"]
    assert len(seen) == 2, "validations at steps 0 and 4"
    for key, value in averaged.items():
        assert torch.equal(seen[-1][key], value), f"step 4 validated {key} other than the average"
    assert any(not torch.allclose(averaged[k], raw[k]) for k in raw), "the average lags the raw weights"


def test_select_by_aiq_keeps_the_weights_with_the_best_validation_aiq(tiny_specs, tmp_path):
    outcomes = synthetic_outcomes()
    outcomes["cost"] = np.where(outcomes["model"] == "mathy", 0.001, 0.01)
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    train = TINY_TRAIN | {"stage1_steps": 6, "select_by": "aiq", "lr_connector": 0.05}
    cfg = ModelsatConfig.model_validate({"router": router, "train": train})
    result = train_router(outcomes, ["mathy", "historian"], cfg, tmp_path)
    assert all("val_aiq" in h and "val_accuracy" in h for h in result.history)
    assert result.best_val_score == max(h["val_aiq"] for h in result.history)
    aptitude = AptitudeSet.load(tmp_path / "aptitude.json")
    val = ScoreMatrix.from_outcomes(outcomes, ["mathy", "historian"], "validation", exclude=aptitude.query_ids)
    val = val.subset(cfg.train.val_queries, cfg.train.seed)
    fresh = load_router(tmp_path, bf16="off", calibrated=False, mode="full").score_instructions(val.prompts)
    kept = validation_aiq(fresh, validation_costs(outcomes, val), val.scores)
    assert kept == pytest.approx(result.best_val_score, abs=1e-6), "the saved weights are the best-AIQ ones"


def test_select_by_aiq_needs_recorded_costs(tiny_specs, tmp_path):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"select_by": "aiq"}})
    with pytest.raises(ConfigError, match="select_by=aiq"):
        train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
