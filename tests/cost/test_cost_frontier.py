"""Frontier metrics on hand-made curves: NDCH, AIQ, the zero-router, APGR / CPT, and λ sweeps."""

import numpy as np
import pytest

from modelsat.evaluation.frontier import (
    aiq,
    apgr_cpt,
    cheapest_at_quality,
    cost_frontier,
    ndch,
    sweep,
    validation_aiq,
)


def test_ndch_drops_points_under_the_hull_and_after_the_best_quality() -> None:
    points = np.array([[2, 0.55], [1, 0.5], [3, 0.8], [4, 0.7], [3, 0.6]])
    assert ndch(points).tolist() == [[1, 0.5], [3, 0.8]]


def test_ndch_of_one_point_and_of_a_decreasing_curve() -> None:
    assert ndch(np.array([[1, 0.5]])).tolist() == [[1, 0.5]]
    assert ndch(np.array([[1, 0.9], [2, 0.5]])).tolist() == [[1, 0.9]]


def test_aiq_is_the_mean_hull_height_over_the_cost_range() -> None:
    hull = np.array([[1, 0.5], [3, 0.8]])
    # trapezoid 1..3 = 1.3, flat 3..5 = 1.6 → 2.9 / 4
    assert aiq(hull, 1, 5) == pytest.approx(0.725)
    # nothing below the cheapest point: 2.9 / 5
    assert aiq(hull, 0, 5) == pytest.approx(0.58)
    assert aiq(np.array([[1, 0.7]]), 1, 5) == pytest.approx(0.7)


def test_zero_router_is_the_hull_of_single_models() -> None:
    y = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 1], [1, 1, 1]], dtype=float)  # quality .5, 1, .75
    cost = np.tile([1.0, 4.0, 2.0], (4, 1))
    frontier = cost_frontier(y, cost, {}, ["a", "b", "c"], strong="b", weak="a", best_single="b")
    # c (2, .75) lies on the segment a (1, .5) – b (4, 1)? .5 + .5/3 = .667 < .75: it stays
    assert frontier["zero_router"]["hull"] == [[1.0, 0.5], [2.0, 0.75], [4.0, 1.0]]
    area = (0.5 + 0.75) / 2 + (0.75 + 1.0) / 2 * 2
    assert frontier["zero_router"]["aiq"] == pytest.approx(area / 3)


def test_apgr_and_cpt_on_a_perfect_preference() -> None:
    y = np.array([[0, 1], [1, 1], [0, 0], [0, 1]], dtype=float)  # columns: weak, strong
    utility = np.array([[0.0, 0.9], [0.0, 0.1], [0.0, 0.0], [0.0, 0.8]])
    # PGR after 0..4 strong calls: 0, .5, 1, 1, 1; at 10 %, ..., 100 %: 0, .5, .5, 1 × 7
    result = apgr_cpt(utility, y, strong=1, weak=0)
    assert result["apgr"] == pytest.approx(0.8)
    assert result["cpt"] == {"50": 0.25, "80": 0.5}


def test_apgr_is_undefined_when_strong_equals_weak() -> None:
    y = np.array([[1, 1], [0, 0]], dtype=float)
    assert apgr_cpt(y, y, 1, 0) == {"apgr": None, "cpt": {"50": None, "80": None}}


def test_sweep_ends_are_quality_only_and_cheapest_routing() -> None:
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 1], [1, 0, 0]], dtype=float)
    cost = np.array([[3.0, 2.0, 1.0]] * 5)
    utility = np.array([[0.9, 0.2, 0.1], [0.2, 0.8, 0.1], [0.6, 0.5, 0.4], [0.1, 0.2, 0.7], [0.5, 0.6, 0.1]])
    first, last = sweep(utility, cost, y, [0.0, float("inf")])
    assert first == {"lambda": 0.0, "cost": pytest.approx((3 + 2 + 3 + 1 + 2) / 5), "quality": pytest.approx(0.8)}
    assert last == {"lambda": "inf", "cost": 1.0, "quality": pytest.approx(0.4)}


def test_oracle_reaches_best_single_quality_at_the_cheapest_correct_models() -> None:
    y = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 1], [0, 0, 1], [1, 0, 0]], dtype=float)
    cost = np.array([[3.0, 2.0, 1.0]] * 5)
    frontier = cost_frontier(y, cost, {"q": y}, ["a", "b", "c"], strong="a", weak="c", best_single="a")
    oracle = frontier["oracle"]
    assert oracle["max_quality"] == 1.0
    assert oracle["cost_at_max_quality"] == pytest.approx((2 + 2 + 1 + 1 + 3) / 5)
    at = oracle["at_best_single_quality"]
    assert at["quality"] >= 0.6 and at["saved"] == pytest.approx(1 - at["cost"] / 3.0)
    assert frontier["methods"]["q"]["aiq"] == pytest.approx(oracle["aiq"])


def test_cheapest_at_quality() -> None:
    points = [{"cost": 3, "quality": 0.9}, {"cost": 2, "quality": 0.8}, {"cost": 1, "quality": 0.5}]
    assert cheapest_at_quality(points, 0.8) == points[1]
    assert cheapest_at_quality(points, 0.95) is None


def test_validation_aiq_ranks_a_router_that_knows_when_cheap_suffices_first() -> None:
    y = np.array([[1, 1], [0, 1], [1, 1], [0, 1]], dtype=float)  # columns: cheap, dear
    cost = np.tile([1.0, 10.0], (4, 1))
    knowing = np.array([[0.9, 0.9], [0.1, 0.9], [0.9, 0.9], [0.1, 0.9]])  # cheap only where it is right
    blind = np.array([[0.1, 0.9], [0.9, 0.9], [0.1, 0.9], [0.9, 0.9]])  # cheap exactly where it is wrong
    # knowing: (1, .5) at λ = ∞ and (5.5, 1) at λ = 0, flat after; AIQ over the range [1, 10]
    assert validation_aiq(knowing, cost, y) > validation_aiq(blind, cost, y)
    assert validation_aiq(knowing, cost, y) == pytest.approx(((0.5 + 1) / 2 * 4.5 + 4.5) / 9)
