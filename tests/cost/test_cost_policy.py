"""The decision rule: λ = 0 is quality-only routing, λ = ∞ the cheapest model, max_cost is never exceeded."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from modelsat.cost.policy import as_utility, decide, ranking

UTILITY = np.array([[0.9, 0.6, 0.3], [0.2, 0.8, 0.1], [0.5, 0.5, 0.5]])
COST = np.array([[0.010, 0.002, 0.001], [0.010, 0.002, 0.001], [0.004, 0.002, 0.003]])


def test_lambda_zero_is_quality_only_argmax() -> None:
    assert decide(UTILITY, COST, lam=0.0).choice.tolist() == UTILITY.argmax(axis=1).tolist() == [0, 1, 0]


def test_huge_lambda_routes_everything_to_the_cheapest_model() -> None:
    assert decide(UTILITY, COST, lam=1e9).choice.tolist() == [2, 2, 1]
    assert decide(UTILITY, COST, lam=float("inf")).choice.tolist() == [2, 2, 1]


def test_infinite_lambda_breaks_cost_ties_by_utility() -> None:
    utility, cost = np.array([[0.1, 0.7, 0.9]]), np.array([[0.001, 0.001, 0.002]])
    assert decide(utility, cost, lam=float("inf")).choice.tolist() == [1]


def test_moderate_lambda_trades_quality_for_cost() -> None:
    # row 0: 0.9 - 100*0.010 = -0.1 < 0.6 - 100*0.002 = 0.4 > 0.3 - 0.1
    assert decide(UTILITY, COST, lam=100.0).choice.tolist() == [1, 1, 1]


def test_max_cost_restricts_and_falls_back_to_the_cheapest() -> None:
    decision = decide(UTILITY, COST, max_cost=0.0025)
    assert decision.choice.tolist() == [1, 1, 1]
    assert not decision.over_budget.any()
    decision = decide(UTILITY, COST, max_cost=0.0005)
    assert decision.choice.tolist() == [2, 2, 1] and decision.over_budget.all()


def test_ranking_drops_models_over_budget() -> None:
    assert ranking(UTILITY[0], COST[0]) == [0, 1, 2]
    assert ranking(UTILITY[0], COST[0], max_cost=0.005) == [1, 2]
    assert ranking(UTILITY[0], COST[0], max_cost=0.0001) == [2]


def test_negative_lambda_is_refused() -> None:
    with pytest.raises(ValueError, match="lambda must be >= 0"):
        decide(UTILITY, COST, lam=-1.0)


def test_utilities_keep_probabilities_and_squash_log_odds() -> None:
    probs = np.array([[0.0, 0.5, 1.000001]])
    assert as_utility(probs) is not None and np.array_equal(as_utility(probs), probs)
    assert np.allclose(as_utility(np.array([[0.0, 2.0, -2.0]])), [[0.5, 0.880797, 0.119203]])


matrices = st.integers(1, 6).flatmap(
    lambda m: st.tuples(
        arrays(np.float64, (5, m), elements=st.floats(0, 1)),
        arrays(np.float64, (5, m), elements=st.floats(0, 0.01)),
    )
)


@settings(max_examples=200, deadline=None)
@given(matrices, st.floats(0, 1e6), st.floats(0, 0.01))
def test_max_cost_is_never_exceeded(pair: tuple[np.ndarray, np.ndarray], lam: float, max_cost: float) -> None:
    utility, cost = pair
    decision = decide(utility, cost, lam, max_cost)
    rows = np.arange(len(cost))
    chosen = cost[rows, decision.choice]
    assert (chosen[~decision.over_budget] <= max_cost).all()
    # only when nothing fits, and then the cheapest
    assert (cost[decision.over_budget] > max_cost).all()
    assert np.array_equal(chosen[decision.over_budget], cost[decision.over_budget].min(axis=1))


@settings(max_examples=200, deadline=None)
@given(matrices)
def test_lambda_zero_matches_argmax_and_infinity_the_minimum_cost(pair: tuple[np.ndarray, np.ndarray]) -> None:
    utility, cost = pair
    assert np.array_equal(decide(utility, cost, 0.0).choice, utility.argmax(axis=1))
    cheapest = decide(utility, cost, float("inf")).choice
    assert np.array_equal(cost[np.arange(len(cost)), cheapest], cost.min(axis=1))
