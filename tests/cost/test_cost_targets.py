"""Targets in plain terms (quality, budget, strong_share) read off a λ sweep on a 2-model × 4-query fixture
whose every routing can be worked out by hand, and kept on the queries they were calibrated on."""

import math
from pathlib import Path

import numpy as np
import pytest

from modelsat.cost.targets import Target, TargetCurve, fit_curve
from modelsat.errors import ConfigError, DataError
from modelsat.evaluation.targets import target_outcome, targets_markdown, targets_section

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


@pytest.mark.parametrize(
    ("target", "accuracy", "cost", "lam_range"),
    [
        ("quality=0.95", 1.0, 0.55, (0.112, 0.667)),  # the cheapest routing that keeps all of the accuracy
        ("quality=0.7", 0.75, 0.325, (0.667, 0.778)),
        ("budget=0.6", 1.0, 0.55, (0.112, 0.667)),  # the most accurate routing under 0.6 USD
        ("budget=0.3", 0.5, 0.1, (0.778, math.inf)),
        ("strong_share=0.5", 1.0, 0.55, (0.112, 0.667)),
        ("strong_share=0.0", 0.5, 0.1, (0.778, math.inf)),
    ],
)
def test_a_target_reads_its_lambda_off_the_curve(curve, target, accuracy, cost, lam_range) -> None:
    choice = curve.resolve(Target.parse(target))
    assert (choice.expected_accuracy, choice.expected_cost, choice.reachable) == (accuracy, pytest.approx(cost), True)
    assert lam_range[0] <= choice.lam <= lam_range[1]


def test_quality_picks_the_largest_lambda_of_the_cheapest_point(curve: TargetCurve) -> None:
    choice = curve.resolve(Target(quality=0.95))
    same_point = [lam for lam, c in zip(curve.lambdas, curve.cost, strict=True) if c == pytest.approx(0.55)]
    assert choice.lam == max(same_point)
    assert choice.promise == "accuracy ≥ 95.0% (95% of strong's 100.0%)"


def test_an_unreachable_target_says_so_and_takes_the_nearest() -> None:
    # a router that prefers the weak model even at λ = 0 never reaches the strong model's accuracy
    backwards = fit_curve(UTILITY[:, ::-1], COST, Y, MODELS)
    choice = backwards.resolve(Target(quality=0.99))
    assert not choice.reachable and choice.lam == 0.0 and choice.expected_accuracy == 0.5
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
    outcome = target_outcome(UTILITY, COST, Y, MODELS, curve, Target(quality=0.95))
    assert (outcome["accuracy"], outcome["cost"]) == (outcome["expected_accuracy"], outcome["expected_cost"])
    assert outcome["promised_accuracy"] == 0.95 and outcome["accuracy_gap_points"] == pytest.approx(5.0)
    budget = target_outcome(UTILITY, COST, Y, MODELS, curve, Target(budget=0.3))
    assert budget["promised_cost"] == pytest.approx(0.3) and budget["cost_ratio"] == pytest.approx(0.1 / 0.3)
    # columns in another order are the same routing
    section = targets_section(Y[:, ::-1], COST[:, ::-1], {"m": UTILITY[:, ::-1]}, {"m": curve}, MODELS[::-1])
    assert section["m"]["quality=0.95"]["accuracy"] == 1.0 and section["m"]["quality=0.95"]["cost"] == 0.55
    assert set(section["m"]) >= {"quality=0.9", "budget=0.2", "strong_share=0.5"}
    assert "| quality=0.95 |" in targets_markdown(section)
