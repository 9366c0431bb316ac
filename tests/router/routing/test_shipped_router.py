"""The shipped router (routers/default, the one router) on real MMLU-Pro data: it loads, routes real test
instructions better than chance, ranks deterministically, and refuses incompatible inputs with clear errors."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import build_cards, save_cards
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import SMALL_5
from modelsat.errors import RouterError
from modelsat.router.routing.service import load_router

ROUTER = Path(__file__).resolve().parents[3] / "routers" / "default"


@pytest.fixture(scope="module", params=["fast", "full"])
def service(request):
    return load_router(ROUTER, mode=request.param)


@pytest.fixture(scope="module")
def test_queries(mmlu_outcomes):
    aptitude = AptitudeSet.load(ROUTER / "aptitude.json")
    test = split_outcomes(mmlu_outcomes[mmlu_outcomes["model"].isin(SMALL_5)], "test", exclude=aptitude.query_ids)
    table = test.pivot_table(index="query_id", columns="model", values="score").dropna()[list(SMALL_5)]
    prompts = test.drop_duplicates("query_id").set_index("query_id")["prompt"]
    sample = table.sample(300, random_state=0)
    return prompts.loc[sample.index].tolist(), sample.to_numpy()


def test_routes_real_test_instructions_better_than_chance(service, test_queries):
    prompts, scores = test_queries
    log_odds = service.score_instructions(prompts, list(SMALL_5))
    assert log_odds.shape == (300, 5) and np.isfinite(log_odds).all()
    routed = scores[np.arange(300), log_odds.argmax(axis=1)].mean()
    assert routed > scores.mean() + 0.03, f"routed {routed:.3f} vs random {scores.mean():.3f}"
    assert len(set(log_odds.argmax(axis=1))) >= 2, "the router should not send everything to one model"


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_ranking_is_deterministic_and_batch_independent(test_queries, mode):
    fp32 = load_router(ROUTER, bf16="off", mode=mode)  # exact arithmetic: padding in a batch must not change scores
    prompts, _ = test_queries
    batched = fp32.score_instructions(prompts[:8], list(SMALL_5))
    alone = np.stack([fp32.score_instructions([p], list(SMALL_5))[0] for p in prompts[:3]])
    np.testing.assert_allclose(batched[:3], alone, atol=1e-3)
    ranking = fp32.rank(prompts[0])
    assert [m for m, _ in ranking] == [m for m, _ in fp32.rank(prompts[0])]
    assert all(0.0 < p < 1.0 for _, p in ranking)


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_a_model_outside_training_gets_scored_from_its_card(mmlu_outcomes, tmp_path, mode):
    aptitude = AptitudeSet.load(ROUTER / "aptitude.json")
    new = "Meta-Llama-3_1-70B-Instruct"
    cards = build_cards(mmlu_outcomes, aptitude, [new, "Llama-2-7b-hf"], partial=True)  # tested on MMLU-Pro only
    save_cards(cards, tmp_path / "cards.json")
    service = load_router(ROUTER, tmp_path / "cards.json", mode=mode)
    scores = service.score_instructions(["What is the capital of Australia?", "Integrate x^2 from 0 to 3."])
    assert (scores[:, 0] > scores[:, 1]).all(), "a 70B instruct model should outrank Llama-2-7B"


def test_cards_from_another_aptitude_set_are_refused(mmlu_outcomes, tmp_path):
    aptitude = AptitudeSet.load(ROUTER / "aptitude.json")
    other = AptitudeSet(aptitude.tasks[:10], aptitude.zoo, seed=99)
    save_cards(build_cards(mmlu_outcomes, other, ["Yi-6B"]), tmp_path / "cards.json")  # its first 10: MMLU-Pro's
    with pytest.raises(RouterError, match="another aptitude set"):
        load_router(ROUTER, tmp_path / "cards.json")


def test_router_directory_missing_files_is_a_clear_error(tmp_path):
    broken = tmp_path / "router"
    shutil.copytree(ROUTER, broken, ignore=shutil.ignore_patterns("checkpoints"))
    (broken / "weights.safetensors").unlink()
    with pytest.raises(RouterError, match="missing weights.safetensors"):
        load_router(broken)


def test_route_command_prints_json_ranking():
    from modelsat.cli.main import app

    result = CliRunner().invoke(
        app, ["route", "--router", str(ROUTER), "--models", ",".join(SMALL_5), "--json", "Solve x^2 - 5x + 6 = 0."]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == payload["ranking"][0]["model"]
    assert sorted(r["model"] for r in payload["ranking"]) == sorted(SMALL_5)
    probs = [r["p_yes"] for r in payload["ranking"]]
    assert probs == sorted(probs, reverse=True)
