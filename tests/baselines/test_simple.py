import numpy as np
import pandas as pd
import pytest

from modelsat.baselines.best_single import BestSingleRouter
from modelsat.baselines.common import outcome_matrix
from modelsat.baselines.oracle import OracleRouter
from modelsat.baselines.per_task import PerCategoryRouter, PerTaskRouter
from modelsat.baselines.random import RandomRouter

MODELS = ["A", "B", "C"]


def long(y: list[list[float]], tasks: list[str], categories: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for i, scores in enumerate(y):
        for model, s in zip(MODELS, scores, strict=True):
            rows.append(
                {
                    "model": model,
                    "query_id": f"q{i:02d}",
                    "prompt": f"p{i}",
                    "task": tasks[i],
                    "source": "ori_mmlu-x",
                    "category": (categories or tasks)[i],
                    "score": s,
                }
            )
    return pd.DataFrame(rows)


def test_best_single_picks_the_train_best_model() -> None:
    train = long([[1, 1, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0]], tasks=["t"] * 4)
    router = BestSingleRouter().fit(train, MODELS)
    assert router.best == "B"
    assert router.accuracy == pytest.approx({"A": 0.5, "B": 0.75, "C": 0.25})
    queries = pd.DataFrame({"query_id": ["x", "y"], "prompt": ["a", "b"]})
    assert (router.score(queries, MODELS).argmax(axis=1) == 1).all()
    assert (router.score(queries, ["C", "A"]).argmax(axis=1) == 1).all()  # A beats C when B is absent


def test_per_task_picks_per_label_and_falls_back_to_best_single() -> None:
    # A is best on t1, C on t2; B is best overall (it wins the many t3 queries).
    y = [[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]]
    train = long(y, tasks=["t1", "t1", "t2", "t2", "t3", "t3", "t3", "t3"])
    router = PerTaskRouter().fit(train, MODELS)
    queries = pd.DataFrame({"query_id": list("abcd"), "prompt": list("abcd"), "task": ["t1", "t2", "t3", "unseen"]})
    assert router.score(queries, MODELS).argmax(axis=1).tolist() == [0, 2, 1, 1]


def test_per_category_uses_the_category_column() -> None:
    y = [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0]]
    train = long(y, tasks=["t"] * 4, categories=["law", "math", "bio", "bio"])
    router = PerCategoryRouter().fit(train, MODELS)
    queries = pd.DataFrame({"query_id": list("abc"), "prompt": list("abc"), "category": ["law", "math", "x"]})
    assert router.score(queries, MODELS).argmax(axis=1).tolist() == [0, 2, 1]


def test_oracle_scores_are_the_true_outcomes() -> None:
    rows = long([[0, 1, 0], [0, 0, 1], [1, 1, 1]], tasks=["t"] * 3)
    queries, y = outcome_matrix(rows, MODELS)
    scores = OracleRouter(outcomes=rows).score(queries, MODELS)
    np.testing.assert_array_equal(scores, y)
    assert scores.argmax(axis=1).tolist() == [1, 2, 0]


def test_random_is_seeded_and_uniform_in_expectation() -> None:
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(3000)], "prompt": "x"})
    a, b = RandomRouter(seed=5).score(queries, MODELS), RandomRouter(seed=5).score(queries, MODELS)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, RandomRouter(seed=6).score(queries, MODELS))
    share = np.bincount(a.argmax(axis=1), minlength=3) / len(queries)
    np.testing.assert_allclose(share, [1 / 3] * 3, atol=0.03)
    shuffled = queries.iloc[::-1].iloc[:100]  # another order and batch: the same per-query choices
    np.testing.assert_array_equal(RandomRouter(seed=5).score(shuffled, MODELS), a[::-1][:100])


def test_random_routed_accuracy_averages_to_the_zoo_mean_over_seeds() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((50, 3)) < [0.2, 0.5, 0.8]).astype(float)
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(50)], "prompt": "x"})
    accs = []
    for seed in range(400):
        pick = RandomRouter(seed=seed).score(queries, MODELS).argmax(axis=1)
        accs.append(y[np.arange(50), pick].mean())
    assert np.mean(accs) == pytest.approx(y.mean(), abs=0.01)
