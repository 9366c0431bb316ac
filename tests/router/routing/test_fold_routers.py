"""The leave-models-out routers (the shipped one router, routers/default, for folds (a) and (b); routers/fold-c, the
same recipe for fold (c)) on real MMLU-Pro data: models they never trained on, added by their aptitude cards alone,
are used where they are strong (docs/generalisation.md, docs/one-router.md)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import SMALL_5
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.service import load_router

ROUTERS = Path(__file__).resolve().parents[3] / "routers"
STRONG_NEW = ["Meta-Llama-3_1-70B-Instruct", "gemini-1.5-pro-002", "Qwen1.5-110B"]


def query_sample(mmlu_outcomes, router_dir: Path, models: list[str], n: int) -> tuple[pd.Series, np.ndarray]:
    """`n` test prompts outside the router's aptitude set (as a Series by query id) and every model's score."""
    aptitude = AptitudeSet.load(router_dir / "aptitude.json")
    test = split_outcomes(mmlu_outcomes[mmlu_outcomes["model"].isin(models)], "test", exclude=aptitude.query_ids)
    table = test.pivot_table(index="query_id", columns="model", values="score").dropna()[models]
    sample = table.sample(n, random_state=0)
    prompts = test.drop_duplicates("query_id").set_index("query_id")["prompt"]
    return prompts.loc[sample.index], sample.to_numpy()


@pytest.mark.parametrize("name", ["default", "fold-c"])
def test_fold_routers_never_trained_on_their_new_models(name: str) -> None:
    meta = read_router_config(ROUTERS / name)[1]
    assert meta["new_models"] and not set(meta["new_models"]) & set(meta["zoo"])
    assert set(meta["selection_models"]) <= set(meta["zoo"])


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_strong_models_added_by_card_take_the_queries_from_a_small_zoo(mmlu_outcomes, mode: str) -> None:
    router_dir = ROUTERS / "default"
    assert set(STRONG_NEW) <= set(read_router_config(router_dir)[1]["new_models"])
    models = [*SMALL_5, *STRONG_NEW]
    prompts, scores = query_sample(mmlu_outcomes, router_dir, models, 120)
    routed = load_router(router_dir, mode=mode).score_instructions(prompts.tolist(), models).argmax(axis=1)
    assert np.isin(np.array(models)[routed], STRONG_NEW).mean() > 0.9
    accuracy = scores[np.arange(len(routed)), routed].mean()
    small_best = scores[:, : len(SMALL_5)].mean(axis=0).max()
    assert accuracy > small_best + 0.15, f"routed {accuracy:.3f}, best small model {small_best:.3f}"


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_a_peer_added_by_card_takes_the_kinds_of_question_its_card_is_strong_on(mmlu_outcomes, mode: str) -> None:
    router_dir = ROUTERS / "default"
    new = "Phi-3-mini-4k-instruct"  # beats mathstral-7B on MMLU questions, loses on MMLU-Pro's own problems
    assert new in read_router_config(router_dir)[1]["new_models"]
    models = list(SMALL_5)
    prompts, _ = query_sample(mmlu_outcomes, router_dir, models, 200)
    tasks = mmlu_outcomes.drop_duplicates("query_id").set_index("query_id")["task"].loc[prompts.index]
    mmlu_question = tasks.str.startswith("mmlu/").to_numpy()
    scores = load_router(router_dir, mode=mode).score_instructions(prompts.tolist(), models)
    routed = np.array(models)[scores.argmax(axis=1)]
    to_new = routed == new
    assert 0.2 < to_new.mean() < 0.8, f"{new} gets {to_new.mean():.0%} of the queries"
    assert to_new[mmlu_question].mean() > to_new[~mmlu_question].mean() + 0.3
