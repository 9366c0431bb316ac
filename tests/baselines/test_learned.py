"""Learned baselines on a synthetic zoo: A is right on math, B on history; each router must learn that."""

import numpy as np
import pandas as pd
import pytest
from topic_zoo import MODELS, topic_embedder

from modelsat.baselines.common import outcome_matrix
from modelsat.baselines.knn import neighbour_mean
from modelsat.baselines.registry import BASELINES
from modelsat.baselines.tfidf_knn import TfidfKnnRouter

LEARNED = ["knn", "mlp", "random-forest", "matrix-factorisation", "routerdc"]
SMALL_DATA = {"batch_size": 32}  # 600 train queries would be three default mini-batches per epoch


@pytest.mark.parametrize("name", LEARNED)
def test_learned_router_routes_each_topic_to_its_expert(
    name: str, train_rows: pd.DataFrame, test_queries: pd.DataFrame
) -> None:
    router = BASELINES.create(name, seed=0, embedder=topic_embedder, **SMALL_DATA).fit(train_rows, MODELS)
    pick = router.score(test_queries, MODELS).argmax(axis=1)
    expert = np.where(test_queries["prompt"].str.startswith("math"), 0, 1)
    assert (pick == expert).mean() >= 0.9
    subset = router.score(test_queries, ["C", "B"])  # candidates in another order, one left out
    assert subset.shape == (len(test_queries), 2)
    np.testing.assert_allclose(subset, router.score(test_queries, MODELS)[:, [2, 1]])


@pytest.mark.parametrize("name", ["mlp", "matrix-factorisation", "routerdc"])
def test_torch_baselines_are_reproducible_for_a_seed(name: str, train_rows: pd.DataFrame, test_queries) -> None:
    first = BASELINES.create(name, seed=1, embedder=topic_embedder, **SMALL_DATA).fit(train_rows, MODELS)
    second = BASELINES.create(name, seed=1, embedder=topic_embedder, **SMALL_DATA).fit(train_rows, MODELS)
    np.testing.assert_allclose(first.score(test_queries, MODELS), second.score(test_queries, MODELS))


def test_tfidf_knn_routes_by_words(train_rows: pd.DataFrame, test_queries: pd.DataFrame) -> None:
    router = TfidfKnnRouter(k=10).fit(train_rows, MODELS)
    pick = router.score(test_queries, MODELS).argmax(axis=1)
    assert (pick == np.where(test_queries["prompt"].str.startswith("math"), 0, 1)).mean() >= 0.9


def test_knn_scores_are_neighbour_means(train_rows: pd.DataFrame) -> None:
    router = BASELINES.create("knn", k=len(train_rows), embedder=topic_embedder).fit(train_rows, MODELS)
    _, y = outcome_matrix(train_rows, MODELS)
    query = train_rows.drop_duplicates("query_id").head(1)
    np.testing.assert_allclose(router.score(query, MODELS)[0], y.mean(axis=0), atol=1e-5)


def test_unfitted_model_is_an_error(train_rows: pd.DataFrame, test_queries: pd.DataFrame) -> None:
    router = BASELINES.create("knn", embedder=topic_embedder).fit(train_rows, ["A", "B"])
    with pytest.raises(ValueError, match="not fitted on C"):
        router.score(test_queries, MODELS)


def test_knn_counts_every_neighbour_tied_with_the_kth() -> None:
    # Six train prompts embed identically (same few-shot head), with different outcomes; k = 2 must
    # average all six, not whichever two the partition happens to pick.
    similarity = np.array([[0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1]])
    y = np.array([[1.0], [1.0], [0.0], [0.0], [0.0], [0.0], [1.0]])  # any two of the six: 0, 1/2 or 1
    np.testing.assert_allclose(neighbour_mean(similarity, y, k=2)[0], [1 / 3], atol=1e-5)
    np.testing.assert_allclose(neighbour_mean(np.array([[0.9, 0.8, 0.7]]), y[:3], k=2)[0], [1.0], atol=1e-5)


def test_knn_scores_do_not_depend_on_the_batch(train_rows: pd.DataFrame, test_queries: pd.DataFrame) -> None:
    router = BASELINES.create("knn", k=3, embedder=topic_embedder).fit(train_rows, MODELS)
    together = router.score(test_queries, MODELS)
    alone = np.vstack([router.score(test_queries.iloc[i : i + 1], MODELS) for i in range(len(test_queries))])
    np.testing.assert_array_equal(together, alone)
