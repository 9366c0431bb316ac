"""A trained router's aptitude test grows by new core tasks without retraining (`modelsat aptitude extend`): on the
real `routers/fold-c` (trained on the unified test's 48 tasks of MMLU-Pro, RouterDC and AlpacaEval) and the shipped
unified test, which adds RouterBench's four."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards
from modelsat.aptitude.unified import UNIFIED_PATH
from modelsat.data.schema import read_outcomes
from modelsat.errors import RouterError
from modelsat.router.routing.extend import extend_router
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.service import load_router

TRAINED = Path(__file__).resolve().parents[3] / "routers" / "fold-c"
ZOOS = ("mmlu-pro", "routerdc", "alpaca-eval")
WINOGRANDE = (
    "Please answer with the letter of the correct answer.\n\nSarah was a much better surgeon than Maria so _ always "
    'got the harder cases.\nA) Maria\nB) Sarah\nPrint only a single choice  from "A" or "B" without explanation. '
    "Answer:"
)
PHYSICS = "A 2 kg block slides down a frictionless incline of 30 degrees. What is its acceleration in m/s^2?"


@pytest.fixture(scope="module")
def grown_router(all_outcomes_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    router = tmp_path_factory.mktemp("extend") / "router"
    shutil.copytree(TRAINED, router)
    extension = extend_router(router, AptitudeSet.load(UNIFIED_PATH), read_outcomes(all_outcomes_file))
    return router, extension


def test_the_unified_test_cut_to_the_trained_zoos_is_the_routers_own() -> None:
    unified, trained = AptitudeSet.load(UNIFIED_PATH), AptitudeSet.load(TRAINED / "aptitude.json")
    assert unified.of_zoos(ZOOS).to_dict() == trained.to_dict()  # what `train --zoos` trains with
    assert [t.name for t in unified.of_zoos(("routerbench",)).tasks] == [
        "routerbench/mbpp", "routerbench/arc-challenge/00", "routerbench/arc-challenge/01", "routerbench/winogrande"
    ]  # fmt: skip


def test_new_tasks_join_with_their_prototypes_and_every_card_grows(grown_router) -> None:
    router, extension = grown_router
    unified, trained = AptitudeSet.load(UNIFIED_PATH), AptitudeSet.load(TRAINED / "aptitude.json")
    assert extension.added == tuple(t.name for t in unified.of_zoos(("routerbench",)).tasks)
    folder = RouterFolder.read(router)
    assert folder.aptitude.to_dict() == unified.to_dict() and folder.meta["aptitude_fingerprint"] == unified.fingerprint
    assert folder.meta["extended_tasks"] == list(extension.added)
    stored = RouterFolder.read(TRAINED).prototypes
    assert set(folder.prototypes) == {t.name for t in unified.tasks}
    assert all(np.array_equal(folder.prototypes[name], vector) for name, vector in stored.items())
    old, cards = load_cards(TRAINED / "cards.json"), load_cards(router / "cards.json")
    assert set(cards) == set(old) | set(extension.new_models) and len(extension.new_models) == 11
    for model, card in old.items():  # each trained card keeps its entries and is not tested on RouterBench's tasks
        grown = {s.task: s for s in cards[model].scores}
        assert [grown[s.task] for s in card.scores] == card.scores, model
        assert not any(grown[name].tested for name in extension.added), model
    gpt4 = {s.task: s for s in cards["gpt-4-1106-preview"].scores}
    assert {task for task, s in gpt4.items() if s.tested} == set(extension.added)
    assert 0.8 < gpt4["routerbench/winogrande"].accuracy <= 1.0 and not (trained.query_ids & set().union(
        *(t.query_ids for t in unified.tasks if t.name in extension.added)))  # fmt: skip


def test_the_grown_router_routes_the_new_models_and_the_old_ones_as_before(grown_router) -> None:
    router, _ = grown_router
    before, after = load_router(TRAINED, mode="fast"), load_router(router, mode="fast")
    old_models = ["Meta-Llama-3-70B", "Phi-3-mini-4k-instruct", "MetaMath-Mistral-7B", "gemini-1.5-pro-002"]
    assert np.allclose(
        before.score_instructions([PHYSICS], old_models), after.score_instructions([PHYSICS], old_models), atol=1e-6
    )
    new_models = ["gpt-4-1106-preview", "mistralai/mistral-7b-chat", "claude-v2", "claude-v1"]
    ranking = [model for model, _ in after.rank(WINOGRANDE, models=new_models)]
    entry = {m: s.accuracy for m in new_models for s in after.cards[m].scores if s.task == "routerbench/winogrande"}
    assert ranking[0] == "gpt-4-1106-preview" and ranking[-1] == "claude-v2"  # read off their WinoGrande entries
    assert entry["gpt-4-1106-preview"] == max(entry.values()) and entry["claude-v2"] == min(entry.values())


def test_a_test_that_changes_the_routers_tasks_is_refused_and_a_rerun_adds_nothing(
    grown_router, all_outcomes_file: Path
) -> None:
    router, _ = grown_router
    unified = AptitudeSet.load(UNIFIED_PATH)
    again = extend_router(router, unified, read_outcomes(all_outcomes_file))
    assert again.added == () and again.new_models == () and again.fingerprint == unified.fingerprint
    shutil.copy(TRAINED / "cards.json", router / "cards.json")  # as if a run had stopped before writing the cards
    resumed = extend_router(router, unified, read_outcomes(all_outcomes_file))
    assert resumed.added == () and len(resumed.new_models) == 11 and resumed.cards == again.cards
    assert all(card.aptitude_fingerprint == unified.fingerprint for card in load_cards(router / "cards.json").values())
    dropped = AptitudeSet(unified.tasks[1:], unified.zoo, unified.seed)
    with pytest.raises(RouterError, match=r"lacks the router's core task 'mmlu-pro/biology/00'; a test can only grow"):
        extend_router(router, dropped, read_outcomes(all_outcomes_file))
    first = unified.tasks[0]
    changed = AptitudeSet((type(first)(first.name, first.description, first.query_ids[1:], first.kind),
                           *unified.tasks[1:]), unified.zoo, unified.seed)  # fmt: skip
    with pytest.raises(RouterError, match="asks other questions in the router's core task 'mmlu-pro/biology/00'"):
        extend_router(router, changed, read_outcomes(all_outcomes_file))


def test_the_command_grows_a_router_and_says_what_joined(cli, all_outcomes_file: Path, tmp_path: Path) -> None:
    router = tmp_path / "router"
    shutil.copytree(TRAINED, router)
    result = cli("aptitude", "extend", "--router", router, "--aptitude", "unified", "--outcomes", all_outcomes_file)
    assert result.code == 0, result.stderr
    message = " ".join(result.stderr.split())
    assert "4 core task(s) added (routerbench/mbpp, routerbench/arc-challenge/00" in message
    assert "11 model(s) with a first card: WizardLM/WizardLM-13B-V1.2, claude-instant-v1" in message
    assert AptitudeSet.load(router / "aptitude.json").fingerprint == AptitudeSet.load(UNIFIED_PATH).fingerprint
    missing = cli("aptitude", "extend", "--router", tmp_path / "none", "--aptitude", "unified", "--outcomes",
                  all_outcomes_file)  # fmt: skip
    assert missing.code != 0 and "no such router directory" in missing.stderr
