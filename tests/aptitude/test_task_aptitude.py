"""Aptitude tests from a zoo's own tasks (`--method tasks`) on the real RouterBench subset: ARC, WinoGrande
and MBPP, each kept apart and clustered within, as a user's own multi-domain results would be."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.clustering import task_shares
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.importers import routerbench
from modelsat.data.splits import split_of
from modelsat.errors import DataError


@pytest.fixture(scope="module")
def outcomes(shared_data: Path) -> pd.DataFrame:
    return routerbench.load(shared_data / "routerbench-subset").outcomes


@pytest.fixture(scope="module")
def by_task(outcomes: pd.DataFrame):
    models = sorted(outcomes["model"].unique())
    return select_aptitude_set(outcomes, models, n_tasks=8, n_per_task=10, seed=0, method="tasks")


def test_shares_follow_the_square_root_of_size() -> None:
    sizes = pd.Series({"mmlu": 1800, "cmmlu": 1800, "gsm8k": 900, "arc": 740, "humaneval": 100})
    shares = task_shares(sizes, 16)
    assert sum(shares.values()) == 16 and min(shares.values()) >= 1
    assert shares["mmlu"] == shares["cmmlu"] > shares["gsm8k"] >= shares["arc"] > shares["humaneval"]
    assert task_shares(pd.Series({"a": 3, "b": 500}), 6) == {"a": 1, "b": 5}
    with pytest.raises(DataError, match="3 tasks have eligible questions, more than the 2 core tasks"):
        task_shares(pd.Series({"a": 5, "b": 5, "c": 5}), 2)


def test_every_task_gets_core_tasks_of_its_own(by_task, outcomes: pd.DataFrame) -> None:
    names = [t.name for t in by_task.tasks]
    assert len(names) == 8 and all(len(t.query_ids) == 10 for t in by_task.tasks)
    label = outcomes.drop_duplicates("query_id").set_index("query_id")["task"]
    for task in by_task.tasks:
        own = set(label.loc[list(task.query_ids)])
        assert own == {task.name.split("/")[0]}, task.name  # no core task mixes datasets
    assert {n.split("/")[0] for n in names} == {"arc-challenge", "mbpp", "winogrande"}
    mbpp = [t for t in by_task.tasks if t.name.startswith("mbpp")]
    assert all(t.description.startswith("Python functions from a description") for t in mbpp)
    assert set(split_of(sorted(by_task.query_ids))) == {"train"}


def test_deterministic_and_cards_read_it(by_task, outcomes: pd.DataFrame) -> None:
    again = select_aptitude_set(outcomes, list(by_task.zoo), n_tasks=8, n_per_task=10, seed=0, method="tasks")
    assert again.to_dict() == by_task.to_dict()
    cards = build_cards(outcomes, by_task, list(by_task.zoo))
    gpt4 = cards["gpt-4-1106-preview"]
    assert [s.task for s in gpt4.scores] == [t.name for t in by_task.tasks]
    assert max(cards.values(), key=lambda c: c.mean_accuracy).model == "gpt-4-1106-preview"
