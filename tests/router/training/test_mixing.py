"""Mixed-model augmentation: mixed cards and targets agree group by group; groups come from the data."""

from pathlib import Path

import numpy as np
from router_doubles import TINY_TRAIN, synthetic_outcomes

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.router.config import ModelsatConfig
from modelsat.router.training.mixing import TaskGroups, mix_models
from modelsat.router.training.train import train_router


def test_a_mixed_model_is_one_model_per_group_in_card_and_answers(make_card):
    cards = [make_card("a", [0.11, 0.12, 0.13]), make_card("b", [0.21, 0.22, 0.23]), make_card("c", [0.31, 0.32, 0.33])]
    groups = TaskGroups(of_queries=np.array([0, 1, 2, 0]), of_tasks=np.array([0, 1, 2]), n_groups=3)
    targets = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    mixed, mixed_targets = mix_models(cards, targets, groups.of_queries, groups, 20, np.random.default_rng(0))
    assert len(mixed) == 20 and mixed_targets.shape == (4, 20)
    sources_per_card = []
    for k, card in enumerate(mixed):
        first, second = card.model.split("|")
        assert first != second
        for task, score in enumerate(card.scores):
            source = int(round(score.accuracy * 10)) - 1  # 0.1x -> card 0, 0.2x -> card 1, ...
            assert cards[source].model in (first, second)
            assert score.accuracy == cards[source].scores[task].accuracy
            rows = groups.of_queries == groups.of_tasks[task]
            np.testing.assert_array_equal(mixed_targets[rows, k], targets[rows, source])
        sources_per_card.append({round(s.accuracy, 1) for s in card.scores})
    assert any(len(sources) == 2 for sources in sources_per_card), "some mixed model should take from both"


def test_groups_are_mmlu_pro_categories(mmlu_outcomes):
    unified = AptitudeSet.load(Path(__file__).resolve().parents[3] / "routers" / "default" / "aptitude.json")
    aptitude = AptitudeSet([t for t in unified.tasks if t.name.startswith("mmlu-pro/")], unified.zoo, unified.seed)
    train_ids = mmlu_outcomes["query_id"].drop_duplicates().tolist()
    groups = TaskGroups.from_outcomes(mmlu_outcomes, aptitude, train_ids)
    assert groups.n_groups == 14
    names = sorted(mmlu_outcomes["category"].unique())
    by_task = {t.name: names[g] for t, g in zip(aptitude.tasks, groups.of_tasks, strict=True)}
    assert len(by_task) == 28 and all(name.split("/")[1] == category for name, category in by_task.items())
    assert len(groups.of_queries) == len(train_ids)


def test_training_with_mixed_models_runs(tiny_specs, tmp_path):
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate(
        {"router": router, "train": TINY_TRAIN | {"stage1_steps": 2, "mixed_models": 3}}
    )
    result = train_router(synthetic_outcomes(), ["mathy", "historian"], cfg, tmp_path)
    assert [h["step"] for h in result.history] == [0, 2]
