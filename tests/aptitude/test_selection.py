"""Aptitude-set selection on the real 25-model MMLU-Pro table: shape, determinism, exclusion, file errors."""

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import SMALL, SMALL_5
from modelsat.errors import ConfigError, DataError


def zoo_accuracy(outcomes: pd.DataFrame, query_ids: Iterable[str], models: Iterable[str]) -> pd.Series:
    """The zoo's accuracy p per question."""
    rows = outcomes[outcomes["query_id"].isin(set(query_ids)) & outcomes["model"].isin(set(models))]
    return rows.groupby("query_id")["score"].mean()


def test_default_set_is_50_subjects_of_20_distinct_questions_the_zoo_splits_on(
    aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame
) -> None:
    assert len(aptitude.tasks) == 50
    assert all(len(t.query_ids) == 20 and t.name.startswith("mmlu/") for t in aptitude.tasks)
    assert len(aptitude.query_ids) == 1000
    p = zoo_accuracy(mmlu_outcomes, aptitude.query_ids, SMALL)
    assert ((p > 0) & (p < 1)).all()


def test_discriminative_sampling_keeps_each_subjects_heaviest_questions(mmlu_outcomes: pd.DataFrame) -> None:
    chosen = select_aptitude_set(mmlu_outcomes, list(SMALL), sampling="discriminative")
    task = chosen.tasks[0]
    subject = mmlu_outcomes[mmlu_outcomes["task"] == task.name]
    answered_by_all = subject.groupby("query_id")["model"].nunique() == mmlu_outcomes["model"].nunique()
    p = zoo_accuracy(subject, answered_by_all.index[answered_by_all], SMALL)
    weight = p * (1 - p)
    kept = weight.index.isin(task.query_ids)
    assert weight[kept].min() >= weight[~kept].max()


def test_representative_cards_estimate_unseen_models_accuracy_better(mmlu_outcomes: pd.DataFrame) -> None:
    """Picking p≈½ questions on the training zoo inflates its members' cards; a uniform sample does not."""
    training_zoo = [m for m in SMALL if m != "Phi-3-mini-4k-instruct"]
    test = split_outcomes(mmlu_outcomes[mmlu_outcomes["task"].str.startswith("mmlu/")], "test")
    true_accuracy = test[test["model"].isin(SMALL_5)].groupby("model")["score"].mean()
    gaps = {}
    for sampling in ("representative", "discriminative"):
        chosen = select_aptitude_set(mmlu_outcomes, training_zoo, sampling=sampling)
        rows = mmlu_outcomes[mmlu_outcomes["query_id"].isin(chosen.query_ids)]
        card_accuracy = rows[rows["model"].isin(SMALL_5)].groupby("model")["score"].mean()
        gaps[sampling] = (card_accuracy - true_accuracy).std()  # a shift shared by all models is harmless
    assert gaps["representative"] < gaps["discriminative"] / 2, gaps


def test_unknown_sampling_is_a_clear_error(mmlu_outcomes: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown aptitude sampling 'hardest'"):
        select_aptitude_set(mmlu_outcomes, list(SMALL_5), sampling="hardest")  # type: ignore[arg-type]


def test_selection_is_deterministic_and_depends_on_the_zoo(aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame) -> None:
    again = select_aptitude_set(mmlu_outcomes, list(SMALL))
    assert again.fingerprint == aptitude.fingerprint and again.tasks == aptitude.tasks
    assert select_aptitude_set(mmlu_outcomes, list(SMALL_5)).fingerprint != aptitude.fingerprint


def test_questions_some_model_did_not_answer_are_excluded(aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame) -> None:
    dropped = aptitude.tasks[0].query_ids[0]
    gappy = mmlu_outcomes[~((mmlu_outcomes["model"] == "Yi-6B") & (mmlu_outcomes["query_id"] == dropped))]
    reselected = select_aptitude_set(gappy, list(SMALL))
    assert dropped not in reselected.query_ids
    assert len(reselected.query_ids) == 1000


def test_too_many_tasks_is_a_clear_error(mmlu_outcomes: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="only .* MMLU subjects have 20 questions .* need 80"):
        select_aptitude_set(mmlu_outcomes, list(SMALL_5), n_tasks=80)


def test_save_load_round_trip_and_first_tasks(aptitude: AptitudeSet, tmp_path: Path) -> None:
    aptitude.save(tmp_path / "a.json")
    loaded = AptitudeSet.load(tmp_path / "a.json")
    assert loaded == aptitude and loaded.fingerprint == aptitude.fingerprint
    five = aptitude.first_tasks(5)
    assert five.tasks == aptitude.tasks[:5] and five.fingerprint != aptitude.fingerprint
    assert aptitude.first_tasks(None) is aptitude


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not an aptitude set"), ('{"tasks": []}', "not an aptitude set .*KeyError")],
)
def test_malformed_aptitude_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "aptitude.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        AptitudeSet.load(path)
    with pytest.raises(DataError, match="no aptitude set file"):
        AptitudeSet.load(tmp_path / "missing.json")


def test_other_tasks_add_mmlu_pros_own_categories_and_keep_the_subjects(
    aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame
) -> None:
    wider = select_aptitude_set(mmlu_outcomes, list(SMALL), other_tasks=True)
    subjects = [t for t in wider.tasks if t.name.startswith("mmlu/")]
    others = [t for t in wider.tasks if not t.name.startswith("mmlu/")]
    assert subjects == list(aptitude.tasks)  # the same seed draws the same subjects and questions
    assert {t.name for t in others} >= {"mmlu-pro/physics", "mmlu-pro/math", "mmlu-pro/chemistry"}
    assert all(len(t.query_ids) == 20 and "problems" in t.description.lower() for t in others)
    sources = mmlu_outcomes[mmlu_outcomes["query_id"].isin({q for t in others for q in t.query_ids})]["source"]
    assert set(sources) <= {"stemez", "theoremQA", "scibench"}  # not MMLU questions under another name
    assert wider.fingerprint != aptitude.fingerprint
