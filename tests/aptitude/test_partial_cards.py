"""Partial cards: a card keeps which entries were tested; its text lists only those and names the untested ones."""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import TaskScore, build_cards, load_cards, save_cards
from modelsat.errors import DataError

SPECIALISTS = Path(__file__).resolve().parents[2] / "routers" / "specialists"


def without(outcomes: pd.DataFrame, model: str, query_ids) -> pd.DataFrame:
    """`outcomes` less `model`'s answers to `query_ids`."""
    return outcomes[~((outcomes["model"] == model) & outcomes["query_id"].isin(list(query_ids)))]


def test_recorded_results_on_part_of_the_test_give_a_partial_card(
    mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet, tmp_path: Path
) -> None:
    task = aptitude.tasks[3]
    table = without(mmlu_outcomes, "Yi-6B", task.query_ids)
    with pytest.raises(DataError, match=f"answered 0 of the 20 aptitude questions of {task.name}"):
        build_cards(table, aptitude, ["Yi-6B"])
    card = build_cards(table, aptitude, ["Yi-6B"], partial=True)["Yi-6B"]
    full = build_cards(mmlu_outcomes, aptitude, ["Yi-6B"])["Yi-6B"]
    assert card.is_partial and not full.is_partial
    assert [s.tested for s in card.scores] == [t.name != task.name for t in aptitude.tasks]
    # The text lists the 49 tested entries as the full card does, then names the untested task (MMLU's subjects are
    # all one kind, so by its description), and no accuracy for it.
    assert card.clauses()[:-1] == full.clauses()[:3] + full.clauses()[4:]
    assert card.clauses()[-1] == f'not tested: "{task.description}"'
    assert card.mean_accuracy == pytest.approx(sum(s.accuracy for s in card.scores if s.tested) / 49)
    save_cards({"Yi-6B": card}, tmp_path / "cards.json")
    stored = json.loads((tmp_path / "cards.json").read_text())["cards"]["Yi-6B"]["scores"][3]
    assert stored["accuracy"] is None
    assert load_cards(tmp_path / "cards.json")["Yi-6B"] == card


def test_a_task_below_coverage_is_untested_only_when_partial_cards_are_asked_for(
    mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet
) -> None:
    table = without(mmlu_outcomes, "Yi-6B", aptitude.tasks[5].query_ids[:15])
    with pytest.raises(DataError, match="answered 5 of the 20"):
        build_cards(table, aptitude, ["Yi-6B"])
    card = build_cards(table, aptitude, ["Yi-6B"], partial=True)["Yi-6B"]
    assert [s.task for s in card.scores if not s.tested] == [aptitude.tasks[5].name]
    with pytest.raises(DataError, match="'no-such-model' has results on none"):
        build_cards(table, aptitude, ["no-such-model"], partial=True)


def test_untested_kinds_are_named_as_kinds_and_a_partly_tested_kind_by_its_tasks() -> None:
    card = load_cards(SPECIALISTS / "cards.json")["MetaMath-Mistral-7B"]
    assert [s.task.split("/")[0] for s in card.scores][:6] == ["arc-challenge"] * 2 + ["cmmlu"] * 2 + ["gsm8k"] * 2
    untested = {"gsm8k/00", "gsm8k/01", "humaneval", "cmmlu/01"}
    partial = replace(
        card, scores=[TaskScore(s.task, s.description, None) if s.task in untested else s for s in card.scores]
    )
    cmmlu_01 = next(s.description for s in card.scores if s.task == "cmmlu/01")
    assert partial.untested_entries() == [f'"{cmmlu_01}"', "math", "code"]
    assert partial.clauses()[-1] == f'not tested: "{cmmlu_01}", math, code'
    assert partial.clauses()[:-1] == [
        c for c, s in zip(card.clauses(), card.scores, strict=True) if s.task not in untested
    ]
    assert "not tested" not in card.render()


def test_a_full_card_file_loads_as_before_and_nan_entries_of_old_files_read_as_untested(tmp_path: Path) -> None:
    raw = json.loads((SPECIALISTS / "cards.json").read_text())
    cards = load_cards(SPECIALISTS / "cards.json")
    for name, card in cards.items():
        assert [s.accuracy for s in card.scores] == [s["accuracy"] for s in raw["cards"][name]["scores"]]
        assert not card.is_partial and len(card.clauses()) == len(card.scores) == card.n_slots
    raw["cards"]["MetaMath-Mistral-7B"]["scores"][4]["accuracy"] = float("nan")  # a partial live test's old output
    (tmp_path / "cards.json").write_text(json.dumps(raw))
    old = load_cards(tmp_path / "cards.json")["MetaMath-Mistral-7B"]
    assert old.scores[4].accuracy is None and old.is_partial


def test_profile_writes_partial_cards_only_when_asked(
    cli, mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet, aptitude_file: Path, tmp_path: Path
) -> None:
    from modelsat.data.schema import write_outcomes

    task = aptitude.tasks[0]
    rows = mmlu_outcomes[mmlu_outcomes["query_id"].isin(aptitude.query_ids)]
    write_outcomes(without(rows, "Yi-6B", task.query_ids), tmp_path / "outcomes.parquet")
    args = ["profile", "--outcomes", tmp_path / "outcomes.parquet", "--aptitude", aptitude_file, "--models", "Yi-6B"]
    refused = cli(*args, "-o", tmp_path / "refused.json")
    assert refused.code == 1 and f"answered 0 of the 20 aptitude questions of {task.name}" in refused.stderr
    assert "modelsat profile --partial" in refused.stderr  # the way out is named
    done = cli(*args, "-o", tmp_path / "cards.json", "--partial")
    assert done.code == 0 and f'Yi-6B: not tested: "{task.description}"' in done.stderr
    assert not load_cards(tmp_path / "cards.json")["Yi-6B"].scores[0].tested


def test_every_zoos_models_get_partial_cards_on_the_unified_test_naming_their_untested_kinds(
    all_outcomes_file: Path,
) -> None:
    from modelsat.aptitude.unified import UNIFIED_PATH
    from modelsat.data.schema import read_outcomes

    unified = AptitudeSet.load(UNIFIED_PATH)
    table = read_outcomes(all_outcomes_file)
    models = ["MetaMath-Mistral-7B", "mathstral-7B", "gpt4_1106_preview"]  # specialists, MMLU-Pro, chat
    cards = build_cards(table, unified, models, partial=True)
    kinds = {t.kind for t in unified.tasks}
    for card in cards.values():
        assert card.is_partial and [s.kind for s in card.scores] == [t.kind for t in unified.tasks]
        tested = {s.kind for s in card.scores if s.tested}
        named = [e for e in card.untested_entries() if not e.startswith('"')]
        assert named == [k for k in dict.fromkeys(t.kind for t in unified.tasks) if k not in tested]
        assert (
            card.clauses()[-1].startswith("not tested: ")
            and len(card.clauses()) == sum(s.tested for s in card.scores) + 1
        )
    assert {s.kind for s in cards["MetaMath-Mistral-7B"].scores if s.tested} == kinds - {"chat"}
    assert {s.kind for s in cards["gpt4_1106_preview"].scores if s.tested} == {"chat"}
    assert "chat" in cards["mathstral-7B"].untested_entries() and "code" in cards["mathstral-7B"].untested_entries()
