"""Targets in plain terms (quality, budget, strong_share) read off a λ sweep on a 2-model × 4-query fixture
whose every routing can be worked out by hand, and kept on the queries they were calibrated on."""

import math
from pathlib import Path

import numpy as np
import pytest

from modelsat.cost.targets import STANDARD_TARGETS, Target, TargetCurve, fit_curve
from modelsat.errors import ConfigError, DataError
from modelsat.evaluation.targets import target_intervals, target_outcome, targets_markdown, targets_section

MODELS = ["strong", "weak"]
# strong (1.00 USD) is right on all four queries, weak (0.10 USD) on the first two.
Y = np.array([[1, 1], [1, 1], [1, 0], [1, 0]], dtype=float)
COST = np.tile([1.0, 0.1], (4, 1))
# P(good): strong 0.9 everywhere; weak 0.85, 0.8, 0.3, 0.2. Weak wins query i once λ > (0.9 − P_weak) / 0.9:
# λ > 0.056 and 0.111 (queries 1–2, both right: accuracy 1.0, cost 0.55), 0.667 (0.75, 0.325), 0.778 (0.5, 0.1).
UTILITY = np.column_stack([np.full(4, 0.9), [0.85, 0.8, 0.3, 0.2]])


@pytest.fixture
def curve() -> TargetCurve:
    return fit_curve(UTILITY, COST, Y, MODELS)


def test_the_curve_sweeps_from_the_strongest_model_to_the_cheapest(curve: TargetCurve) -> None:
    assert curve.strongest == "strong" and curve.strongest_accuracy == 1.0 and curve.strongest_cost == 1.0
    assert (curve.accuracy[0], curve.cost[0], curve.strong_share[0]) == (1.0, 1.0, 1.0)  # λ = 0
    assert (curve.accuracy[-1], curve.cost[-1], curve.strong_share[-1]) == (0.5, 0.1, 0.0)  # λ = ∞
    assert math.isinf(curve.lambdas[-1])
    assert set(zip(curve.accuracy, curve.cost, strict=True)) == {
        (1.0, 1.0),
        (1.0, 0.775),
        (1.0, 0.55),
        (0.75, 0.325),
        (0.5, 0.1),
    }


INF_PLATEAU = (0.778, math.inf)  # λ routing every query to weak
WEAK_ON_THREE = (0.667, 0.778)  # λ routing queries 1–3 to weak
WEAK_ON_TWO = (0.112, 0.667)  # λ routing queries 1–2 to weak


@pytest.mark.parametrize(
    ("target", "accuracy", "cost", "lam_range", "alt_range", "share_alt"),
    [
        # the hull runs straight from (0.1, 0.5) through (0.325, 0.75) to (0.55, 1.0); the dearer points are under it
        ("quality=0.95", 0.95, 0.505, WEAK_ON_TWO, WEAK_ON_THREE, 0.2),  # 80 % at (0.55, 1.0), 20 % at (0.325, 0.75)
        ("quality=0.7", 0.7, 0.28, WEAK_ON_THREE, INF_PLATEAU, 0.2),
        ("quality=0.5", 0.5, 0.1, INF_PLATEAU, INF_PLATEAU, 0.0),  # the cheapest routing meets it alone
        ("budget=0.6", 1.0, 0.55, WEAK_ON_TWO, WEAK_ON_TWO, 0.0),  # the most accurate routing costs less
        ("budget=0.3", 0.5 + 0.25 * 0.2 / 0.225, 0.3, WEAK_ON_THREE, INF_PLATEAU, 1 - 0.2 / 0.225),
        ("strong_share=0.5", 1.0, 0.55, WEAK_ON_TWO, WEAK_ON_TWO, 0.0),
        ("strong_share=0.0", 0.5, 0.1, INF_PLATEAU, INF_PLATEAU, 0.0),
    ],
)
def test_a_target_mixes_the_two_hull_points_around_its_goal(
    curve, target, accuracy, cost, lam_range, alt_range, share_alt
) -> None:
    choice = curve.resolve(Target.parse(target))
    expected = (pytest.approx(accuracy), pytest.approx(cost), True, pytest.approx(share_alt))
    assert (choice.expected_accuracy, choice.expected_cost, choice.reachable, choice.share_alt) == expected
    assert lam_range[0] <= choice.lam <= lam_range[1] and alt_range[0] <= choice.lam_alt <= alt_range[1]


def test_a_hull_point_is_routed_at_the_middle_of_its_lambdas(curve: TargetCurve) -> None:
    choice = curve.resolve(Target(budget=0.6))
    same_point = [lam for lam, c in zip(curve.lambdas, curve.cost, strict=True) if c == pytest.approx(0.55)]
    assert choice.lam == same_point[len(same_point) // 2] and len(same_point) > 2
    assert curve.resolve(Target(quality=0.95)).promise == "accuracy ≥ 95.0% (95% of strong's 100.0%)"


def test_each_text_draws_its_lambda_by_a_stable_hash(curve: TargetCurve) -> None:
    choice = curve.resolve(Target(quality=0.7))
    texts = [f"question {i}" for i in range(4000)]
    drawn = [choice.lam_for(text) for text in texts]
    assert set(drawn) == {choice.lam, choice.lam_alt}
    assert np.mean([lam == choice.lam_alt for lam in drawn]) == pytest.approx(0.2, abs=0.03)
    assert [choice.lam_for(text) for text in texts[:50]] == drawn[:50]
    single = curve.resolve(Target(budget=0.6))
    assert {single.lam_for(text) for text in texts[:100]} == {single.lam}


def test_an_unreachable_target_says_so_and_takes_the_nearest() -> None:
    # a router that prefers the weak model even at λ = 0 never reaches the strong model's accuracy
    backwards = fit_curve(UTILITY[:, ::-1], COST, Y, MODELS)
    choice = backwards.resolve(Target(quality=0.99))
    assert not choice.reachable and choice.share_alt == 0.0 and choice.expected_accuracy == 0.5
    assert not backwards.resolve(Target(budget=0.01)).reachable


def test_strong_share_needs_two_models() -> None:
    three = fit_curve(
        np.hstack([UTILITY, UTILITY[:, :1]]), np.hstack([COST, COST[:, :1]]), np.hstack([Y, Y[:, :1]]), [*MODELS, "c"]
    )
    with pytest.raises(ConfigError, match="strong_share needs a zoo of one strong and one weak model"):
        three.resolve(Target(strong_share=0.5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("quality=1.5", "less than or equal to 1"),
        ("speed=0.5", "Extra inputs are not permitted"),
        ("quality", "expected NAME=VALUE"),
        ("budget=cheap", "could not convert"),
    ],
)
def test_bad_targets_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        Target.parse(text)
    assert repr(text) in str(error.value)


def test_targets_parse_in_plain_spellings() -> None:
    assert Target.parse("quality:0.95") == Target(quality=0.95)
    assert str(Target.parse("strong-share=0.5")) == "strong_share=0.5"
    with pytest.raises(ValueError, match="exactly one of quality, budget or strong_share"):
        Target(quality=0.9, budget=0.3)


def test_a_curve_round_trips_and_a_missing_file_says_what_to_run(curve: TargetCurve, tmp_path: Path) -> None:
    curve.save(tmp_path / "targets.json")
    assert TargetCurve.load(tmp_path / "targets.json") == curve
    with pytest.raises(DataError, match="run `modelsat calibrate --targets`"):
        TargetCurve.load(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text('{"models": []}')
    with pytest.raises(DataError, match="bad.json: not a targets file"):
        TargetCurve.load(tmp_path / "bad.json")


def test_on_the_calibration_queries_a_target_gets_what_it_expected(curve: TargetCurve) -> None:
    texts = [f"query {i}" for i in range(len(Y))]
    outcome = target_outcome(UTILITY, COST, Y, MODELS, curve, Target(budget=0.6), texts)
    assert (outcome["accuracy"], outcome["cost"]) == (outcome["expected_accuracy"], outcome["expected_cost"])
    assert outcome["promised_cost"] == pytest.approx(0.55) and outcome["cost_ratio"] == pytest.approx(1.0)
    # columns in another order are the same routing
    section = targets_section(Y, COST, {"m": UTILITY}, {"m": curve}, MODELS, texts)
    flipped = targets_section(Y[:, ::-1], COST[:, ::-1], {"m": UTILITY[:, ::-1]}, {"m": curve}, MODELS[::-1], texts)
    assert {t: (v["accuracy"], v["cost"]) for t, v in section["m"].items()} == {
        t: (v["accuracy"], v["cost"]) for t, v in flipped["m"].items()
    }
    assert set(section["m"]) >= {"quality=0.9", "budget=0.2", "strong_share=0.5"}
    assert "| quality=0.95 | 0.272, 0.7238 (20%) |" in targets_markdown(section)


def test_a_mix_meets_its_goal_over_many_queries(curve: TargetCurve) -> None:
    # the fixture's four queries, 500 times each under distinct texts: each text draws its λ
    n = 500
    y, cost, utility = (np.tile(a, (n, 1)) for a in (Y, COST, UTILITY))
    texts = [f"query {i}" for i in range(len(y))]
    outcome = target_outcome(utility, cost, y, MODELS, curve, Target(quality=0.95), texts)
    assert outcome["share_alt_measured"] == pytest.approx(0.2, abs=0.03)
    assert outcome["promised_accuracy"] == pytest.approx(0.95) and outcome["promised_cost"] == pytest.approx(0.505)
    assert abs(outcome["accuracy_gap_points"]) < 1.0 and outcome["cost_ratio"] == pytest.approx(1.0, abs=0.05)


def test_the_routerbench_targets_meet_their_goals_on_its_validation_curve() -> None:
    """The shipped calibration of the RouterBench router (323 real validation queries): every standard target's
    mix expects exactly its goal, and no single λ of the curve meets the goal more cheaply (quality) or more
    accurately (budget)."""
    curve = TargetCurve.load(Path(__file__).parents[2] / "routers" / "routerbench" / "targets.json")
    acc, cost = np.array(curve.accuracy), np.array(curve.cost)
    for q in (0.9, 0.95, 0.99):
        choice = curve.resolve(Target(quality=q))
        assert choice.reachable and choice.expected_accuracy == pytest.approx(q * curve.strongest_accuracy)
        assert choice.expected_cost <= cost[acc >= q * curve.strongest_accuracy - 1e-12].min()
    for b in (0.2, 0.3, 0.5):
        choice = curve.resolve(Target(budget=b))
        assert choice.reachable and choice.expected_cost == pytest.approx(b * curve.strongest_cost)
        assert choice.expected_accuracy >= acc[cost <= b * curve.strongest_cost].max()
        assert 0 < choice.share_alt < 0.5  # the staircase has no point at exactly this budget


def test_intervals_widen_when_the_calibration_queries_are_a_draw_too(curve: TargetCurve) -> None:
    # 1,000 test queries (the fixture's four, 250 times each): routing at the fixture's own calibration keeps every
    # figure near its promise; calibrating again on each draw of 8 validation queries moves the promise far more
    n = 250
    y, cost, utility = (np.tile(a, (n, 1)) for a in (Y, COST, UTILITY))
    texts = [f"query {i}" for i in range(len(y))]
    test_only = target_intervals(y, cost, utility, curve, MODELS, texts, 100, 0)
    validation = tuple(np.tile(a, (2, 1)) for a in (UTILITY, COST, Y))
    both = target_intervals(y, cost, utility, curve, MODELS, texts, 100, 0, validation)
    assert set(test_only) == set(STANDARD_TARGETS) == set(both)
    for name in STANDARD_TARGETS:
        low, high = test_only[name]["cost_ratio_ci95"]
        assert 0.85 < low <= 1.0 <= high < 1.15
        low, high = test_only[name]["accuracy_gap_points_ci95"]
        assert -4 < low <= 0 <= high < 4
        assert np.diff(both[name]["cost_ratio_ci95"])[0] > 0.5  # the promise moves with the validation draw
    assert all(np.diff(both[name]["accuracy_gap_points_ci95"])[0] > 10 for name in ("budget=0.3", "budget=0.5"))


def test_a_quality_target_promises_its_calibrated_cost_and_a_budget_the_strongest_models_share(
    curve: TargetCurve,
) -> None:
    # queries where the strong model costs twice as much as on the calibration queries, the weak one the same
    cost = COST * np.array([2.0, 1.0])
    texts = [f"query {i}" for i in range(len(Y))]
    quality = target_outcome(UTILITY, cost, Y, MODELS, curve, Target(quality=0.95), texts)
    assert quality["promised_cost"] == pytest.approx(curve.resolve(Target(quality=0.95)).expected_cost)
    assert quality["promised_accuracy"] == pytest.approx(0.95)
    budget = target_outcome(UTILITY, cost, Y, MODELS, curve, Target(budget=0.6), texts)
    assert budget["promised_cost"] == pytest.approx(2 * 0.55)  # the mix's 55 % of the strong model's cost, now 2 USD
