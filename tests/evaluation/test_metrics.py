import numpy as np
import pytest
from eval_fixtures import HAND_QUERIES, HAND_Y, MODELS

from modelsat.evaluation.candidates import candidates_curve
from modelsat.evaluation.metrics import (
    choices,
    method_metrics,
    new_model_metrics,
    paired_difference,
    routed_scores,
    task_weights,
)


def test_oracle_metrics_on_the_hand_fixture() -> None:
    pick = choices(HAND_Y)  # the oracle's decision; ties go to the first model
    assert pick.tolist() == [0, 1, 0, 0, 2]
    m = method_metrics(HAND_QUERIES, HAND_Y, pick, MODELS)
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["by_domain"] == pytest.approx({"in_domain": 1.0, "out_of_domain": 0.5})
    assert m["by_task"] == pytest.approx({"mmlu-pro/physics": 0.5, "mmlu/biology": 1.0, "mmlu/law": 1.0})
    assert m["by_category"] == pytest.approx({"biology": 1.0, "law": 1.0, "physics": 0.5})
    assert m["share"] == pytest.approx({"A": 0.6, "B": 0.2, "C": 0.2})


def test_single_model_metrics_on_the_hand_fixture() -> None:
    m = method_metrics(HAND_QUERIES, HAND_Y, np.full(5, 1), MODELS)  # always B
    assert m["accuracy"] == pytest.approx(0.4)
    assert m["by_domain"] == pytest.approx({"in_domain": 1 / 3, "out_of_domain": 0.5})
    assert m["share"] == {"A": 0.0, "B": 1.0, "C": 0.0}


def test_missing_domain_is_none_and_no_category_column_gives_empty() -> None:
    queries = HAND_QUERIES.iloc[:2].drop(columns="category")
    m = method_metrics(queries, HAND_Y[:2], np.array([0, 0]), MODELS)
    assert m["by_domain"]["out_of_domain"] is None
    assert m["by_category"] == {}


def test_router_without_finite_scores_is_rejected() -> None:
    with pytest.raises(ValueError, match="no finite score"):
        choices(np.array([[0.1, 0.2], [np.nan, -np.inf]]))


def test_new_model_metrics() -> None:
    out = new_model_metrics(HAND_Y, np.array([2, 2, 0, 0, 2]), MODELS, ["C", "B"])
    assert out["C"] == pytest.approx({"share": 0.6, "n_routed": 3, "accuracy_when_routed": 1 / 3})
    assert out["B"] == {"share": 0.0, "n_routed": 0, "accuracy_when_routed": None}


def test_candidates_curve_oracle_grows_and_random_is_the_subset_mean() -> None:
    y = np.random.default_rng(0).random((200, 5)) < [0.2, 0.3, 0.4, 0.5, 0.6]
    y = y.astype(float)
    curve = candidates_curve(y, {"oracle": y, "random": y}, n_subsets=20, seed=0)
    assert curve["sizes"] == [2, 3, 4, 5]
    oracle = curve["accuracy"]["oracle"]
    assert oracle == sorted(oracle)
    assert oracle[-1] == pytest.approx(y.max(axis=1).mean())
    assert curve["accuracy"]["random"][-1] == pytest.approx(y.mean())
    assert curve["accuracy"]["random"][0] == pytest.approx(y.mean(), abs=1e-9)  # all 10 pairs: each column equally


def test_paired_difference_interval_holds_the_mean_and_excludes_zero_only_for_a_real_gap() -> None:
    rng = np.random.default_rng(0)
    other = rng.integers(0, 2, 2000).astype(float)
    better = np.where(rng.random(2000) < 0.1, 1.0, other)  # right on ~5 % more queries
    gap = paired_difference(better, other, seed=0)
    low, high = gap["ci95"]
    assert gap["difference"] == pytest.approx((better - other).mean())
    assert 0 < low < gap["difference"] < high < 0.1
    noise = paired_difference(rng.permutation(other), other, seed=0)  # same accuracy, other queries right
    assert noise["ci95"][0] < 0 < noise["ci95"][1]
    assert paired_difference(other, other, seed=0) == {"difference": 0.0, "ci95": [0.0, 0.0]}
    assert paired_difference(better, other, seed=0) == gap, "seeded: the same interval every time"


def test_task_averaged_accuracy_weighs_every_task_the_same() -> None:
    # always B: law 1/2 (q1 0, q2 1), biology 0 → in-domain task average 1/4 (query-weighted 1/3); physics 1/2.
    m = method_metrics(HAND_QUERIES, HAND_Y, np.full(5, 1), MODELS)
    assert m["task_averaged"] == pytest.approx({"all": 1 / 3, "in_domain": 0.25, "out_of_domain": 0.5})
    declared = HAND_QUERIES.assign(domain=["out_of_domain", None, None, "in_domain", None])
    moved = method_metrics(declared, HAND_Y, np.full(5, 1), MODELS)  # q1 and q4 change domain
    assert moved["by_domain"] == pytest.approx({"in_domain": 2 / 3, "out_of_domain": 0.0})
    assert moved["task_averaged"]["out_of_domain"] == pytest.approx(0.0)  # law/q1 0, physics/q3 0


def test_weighted_paired_difference_matches_the_task_average() -> None:
    weights = task_weights(HAND_QUERIES)["in_domain"]
    ours, other = routed_scores(HAND_Y, choices(HAND_Y)), routed_scores(HAND_Y, np.full(5, 1))
    diff = paired_difference(ours, other, seed=0, weights=weights)
    assert diff["difference"] == pytest.approx(1.0 - 0.25)
    low, high = diff["ci95"]
    assert low <= diff["difference"] <= high
