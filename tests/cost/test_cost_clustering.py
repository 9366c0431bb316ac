"""Any-domain aptitude tests: clustered core tasks on the real RouterBench subset (no MMLU results)."""

import numpy as np
import pandas as pd
import pytest

from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.clustering import strip_shared_prefix
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.splits import split_of
from modelsat.errors import ConfigError, DataError
from modelsat.evaluation.dataset import build_eval_set


@pytest.fixture(scope="module")
def clustered(routerbench_outcomes: pd.DataFrame):
    """20 clusters × 10 questions on all 11 models, with the real (cached) MiniLM embeddings."""
    models = sorted(routerbench_outcomes["model"].unique())
    return select_aptitude_set(routerbench_outcomes, models, n_tasks=20, n_per_task=10, seed=0)


def test_requested_number_of_tasks_with_keywords(clustered) -> None:
    assert len(clustered.tasks) == 20
    assert [t.name for t in clustered.tasks] == [f"cluster/{i:02d}" for i in range(20)]
    assert all(len(t.query_ids) == 10 for t in clustered.tasks)
    for task in clustered.tasks:
        words = task.description.split(", ")
        assert len(words) == 5 and all(w.isalpha() and w[0].isupper() for w in words), task.description


def test_clusters_follow_the_data(clustered, routerbench_outcomes: pd.DataFrame) -> None:
    label = routerbench_outcomes.drop_duplicates("query_id").set_index("query_id")["task"]
    majority_share = [label.loc[list(t.query_ids)].value_counts(normalize=True).iloc[0] for t in clustered.tasks]
    assert min(majority_share) >= 0.9  # ARC, WinoGrande and MBPP questions barely mix (a speed-and-distance
    # MBPP problem sits with ARC's mechanics questions)
    code = [t for t in clustered.tasks if set(label.loc[list(t.query_ids)]) == {"mbpp"}]
    assert code and all("Function" in t.description for t in code)


def test_deterministic_across_runs(clustered, routerbench_outcomes: pd.DataFrame) -> None:
    again = select_aptitude_set(routerbench_outcomes, list(clustered.zoo), n_tasks=20, n_per_task=10, seed=0)
    assert again.to_dict() == clustered.to_dict()


def test_questions_come_from_train_and_leave_test_intact(clustered, routerbench_outcomes: pd.DataFrame) -> None:
    assert set(split_of(sorted(clustered.query_ids))) == {"train"}
    models = list(clustered.zoo)
    with_exclusion = build_eval_set(routerbench_outcomes, models, exclude=clustered.query_ids)
    assert with_exclusion.train["query_id"].isin(clustered.query_ids).sum() == 0
    assert len(with_exclusion.queries) == len(build_eval_set(routerbench_outcomes, models).queries)


def test_questions_split_the_zoo_and_cards_estimate_test_accuracy(
    clustered, routerbench_outcomes: pd.DataFrame
) -> None:
    chosen = routerbench_outcomes[routerbench_outcomes["query_id"].isin(clustered.query_ids)]
    p = chosen.groupby("query_id")["score"].mean()
    assert ((p > 0) & (p < 1)).all()
    card_accuracy = chosen.groupby("model")["score"].mean()
    test = routerbench_outcomes[split_of(routerbench_outcomes["query_id"]) == "test"]
    test_accuracy = test.groupby("model")["score"].mean()
    assert (card_accuracy - test_accuracy).abs().mean() < 0.08  # the paper's p≈½ questions: 0.15


def test_cards_work_as_with_mmlu(clustered, routerbench_outcomes: pd.DataFrame) -> None:
    cards = build_cards(routerbench_outcomes, clustered, list(clustered.zoo))
    best = max(cards.values(), key=lambda c: c.mean_accuracy)
    assert best.model == "gpt-4-1106-preview"
    assert best.render().startswith("The model achieves accuracy ")


def test_explicit_methods(routerbench_outcomes: pd.DataFrame) -> None:
    models = sorted(routerbench_outcomes["model"].unique())
    with pytest.raises(DataError, match="only 0 MMLU subjects"):
        select_aptitude_set(routerbench_outcomes, models, method="mmlu")
    with pytest.raises(ConfigError, match="unknown aptitude method 'kmeans'"):
        select_aptitude_set(routerbench_outcomes, models, method="kmeans")


def test_too_few_queries_for_the_clusters(routerbench_outcomes: pd.DataFrame) -> None:
    few = routerbench_outcomes[routerbench_outcomes["query_id"].isin(routerbench_outcomes["query_id"].unique()[:30])]
    with pytest.raises(DataError, match="cannot form 50 clustered core tasks"):
        select_aptitude_set(few, sorted(few["model"].unique()), embedder=lambda texts: np.zeros((len(texts), 2)))


def test_shared_prefix_is_cut_at_a_line_break() -> None:
    texts = pd.Series(["Demo Q\nA\n\nWhy is the sky blue?", "Demo Q\nA\n\nWhy is grass green?", "Write code"])
    groups = pd.Series(["arc", "arc", "mbpp"])
    assert strip_shared_prefix(texts, groups).tolist() == ["Why is the sky blue?", "Why is grass green?", "Write code"]
