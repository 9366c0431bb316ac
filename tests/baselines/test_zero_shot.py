"""Zero-shot peers of Model-SAT: they know a model by its aptitude answers only, never by train labels."""

import numpy as np
import pandas as pd
import pytest
from topic_zoo import MODELS, topic_embedder, topic_outcomes

from modelsat.baselines.registry import BASELINES
from modelsat.baselines.zero_shot import CardLookupRouter, UniRouteRouter
from modelsat.errors import ConfigError


@pytest.fixture(scope="module")
def aptitude_rows() -> pd.DataFrame:
    """A's aptitude answers say math, B's say history (the topic zoo's truth)."""
    return topic_outcomes(80, seed=3, prefix="apt")


def shuffled_labels(train: pd.DataFrame) -> pd.DataFrame:
    """The same prompts with every score flipped: a router that read them would route the other way."""
    return train.assign(score=1.0 - train["score"])


@pytest.mark.parametrize("name", ["card-lookup", "uniroute"])
def test_zero_shot_routers_need_aptitude_answers(name: str, train_rows: pd.DataFrame) -> None:
    router = BASELINES.create(name, seed=0, embedder=topic_embedder)
    with pytest.raises(ConfigError, match="aptitude"):
        router.fit(train_rows, MODELS)
    partial = topic_outcomes(10, seed=4, prefix="apt").query("model != 'C'")
    with pytest.raises(ConfigError, match="no aptitude answers for C"):
        BASELINES.create(name, seed=0, aptitude=partial, embedder=topic_embedder).fit(train_rows, MODELS)


def test_card_lookup_routes_each_subject_to_its_card_best_model(
    aptitude_rows: pd.DataFrame, train_rows: pd.DataFrame, test_queries: pd.DataFrame
) -> None:
    router = CardLookupRouter(aptitude=aptitude_rows).fit(shuffled_labels(train_rows), MODELS)
    picks = np.array(MODELS)[router.score(test_queries, MODELS).argmax(axis=1)]
    expected = np.where(test_queries["task"] == "mmlu/math", "A", "B")
    assert (picks == expected).all()


def test_card_lookup_falls_back_to_the_category_then_the_card_mean(aptitude_rows: pd.DataFrame) -> None:
    router = CardLookupRouter(aptitude=aptitude_rows).fit(aptitude_rows, MODELS)
    queries = pd.DataFrame(
        {
            "query_id": ["x", "y"],
            "prompt": ["math word problem", "poetry"],
            "task": ["mmlu-pro/math", "mmlu-pro/other"],  # subjects the card has no clause for
            "category": ["math", "other"],
        }
    )
    scores = router.score(queries, MODELS)
    math = aptitude_rows[aptitude_rows["category"] == "math"].groupby("model")["score"].mean()
    overall = aptitude_rows.groupby("model")["score"].mean()
    assert scores[0] == pytest.approx(math.reindex(MODELS).to_numpy(), abs=1e-5)
    assert scores[1] == pytest.approx(overall.reindex(MODELS).to_numpy(), abs=1e-5)


def test_uniroute_clusters_unlabelled_prompts_and_reads_per_cluster_aptitude(
    aptitude_rows: pd.DataFrame, train_rows: pd.DataFrame, test_queries: pd.DataFrame
) -> None:
    router = UniRouteRouter(n_clusters=2, seed=0, aptitude=aptitude_rows, embedder=topic_embedder)
    flipped = router.fit(shuffled_labels(train_rows), MODELS).score(test_queries, MODELS)
    picks = np.array(MODELS)[flipped.argmax(axis=1)]
    expected = np.where(test_queries["task"] == "mmlu/math", "A", "B")
    assert (picks == expected).mean() > 0.95
    same = UniRouteRouter(n_clusters=2, seed=0, aptitude=aptitude_rows, embedder=topic_embedder)
    assert same.fit(train_rows, MODELS).score(test_queries, MODELS) == pytest.approx(flipped)
    assert router.score(test_queries, ["C", "A"]) == pytest.approx(flipped[:, [2, 0]])


def test_uniroute_shrinks_sparse_clusters_toward_the_card_mean(aptitude_rows: pd.DataFrame, train_rows) -> None:
    raw = UniRouteRouter(n_clusters=2, prior_strength=0.0, aptitude=aptitude_rows, embedder=topic_embedder)
    shrunk = UniRouteRouter(n_clusters=2, prior_strength=1e5, aptitude=aptitude_rows, embedder=topic_embedder)
    raw.fit(train_rows, MODELS)
    shrunk.fit(train_rows, MODELS)
    overall = aptitude_rows.groupby("model")["score"].mean().reindex(MODELS).to_numpy()
    assert np.abs(raw.table - overall).max() > 0.2
    assert np.abs(shrunk.table - overall).max() < 1e-3
