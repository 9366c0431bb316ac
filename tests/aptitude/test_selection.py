"""Aptitude-set selection on the real 25-model MMLU-Pro table: shape, determinism, exclusion, file errors."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.selection import AptitudeSet, select_aptitude_set
from modelsat.data.zoos import SMALL, SMALL_5
from modelsat.errors import DataError


def test_default_set_is_50_subjects_of_20_distinct_discriminative_questions(
    aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame
) -> None:
    assert len(aptitude.tasks) == 50
    assert all(len(t.query_ids) == 20 and t.name.startswith("mmlu/") for t in aptitude.tasks)
    assert len(aptitude.query_ids) == 1000
    rows = mmlu_outcomes[mmlu_outcomes["query_id"].isin(aptitude.query_ids) & mmlu_outcomes["model"].isin(SMALL)]
    p = rows.groupby("query_id")["score"].mean()
    assert ((p > 0) & (p < 1)).mean() > 0.95  # chosen questions split the zoo
    assert (p * (1 - p)).mean() > 0.2


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
