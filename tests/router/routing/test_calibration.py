"""P(Yes) calibration: Platt scaling recovers a known map, keeps every ranking, refuses what it cannot
fit and survives a round trip to disk (training and routing with it: test_router_training.py)."""

import json

import numpy as np
import pytest

from modelsat.errors import RouterError
from modelsat.router.routing.calibration import CALIBRATION_FILE, Calibration, fit_calibration, log_loss


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_fit_recovers_the_map_that_generated_the_outcomes():
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 3, size=(4000, 5))
    outcomes = (rng.random(raw.shape) < sigmoid(0.4 * raw - 0.8)).astype(float)
    calibration = fit_calibration(raw, outcomes)
    assert calibration.scale == pytest.approx(0.4, abs=0.03)
    assert calibration.bias == pytest.approx(-0.8, abs=0.06)
    assert calibration.log_loss_calibrated < calibration.log_loss_raw - 0.1
    assert calibration.log_loss_calibrated == pytest.approx(log_loss(calibration.apply(raw), outcomes))
    assert calibration.n_queries == 4000


def test_calibration_never_changes_which_candidate_ranks_first():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(500, 7))
    calibration = fit_calibration(raw, (rng.random(raw.shape) < sigmoid(2 * raw + 1)).astype(float))
    np.testing.assert_array_equal(calibration.apply(raw).argmax(axis=1), raw.argmax(axis=1))
    np.testing.assert_array_equal(np.argsort(calibration.apply(raw), axis=1), np.argsort(raw, axis=1))


def test_fractional_outcomes_count_as_weighted_good_and_bad_answers():
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(300, 2))
    half = np.full(raw.shape, 0.5)  # every answer half right: the best map predicts 0.5 everywhere
    calibration = fit_calibration(raw, np.where(raw > 0, 1.0, half))
    assert calibration.scale > 0
    fractional = fit_calibration(raw, np.clip(sigmoid(raw), 0, 1))
    assert fractional.scale == pytest.approx(1.0, abs=0.15) and fractional.bias == pytest.approx(0.0, abs=0.15)


@pytest.mark.parametrize(
    "raw, outcomes, message",
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), "same"),
        (np.array([[np.nan, 1.0]]), np.array([[1.0, 0.0]]), "finite"),
        (np.arange(6.0).reshape(3, 2), np.ones((3, 2)), "both good and bad"),
        (np.arange(8.0).reshape(4, 2), np.array([[1, 1], [1, 0], [0, 0], [0, 0.0]]), "do not rank"),
    ],
)
def test_fit_refuses_what_it_cannot_calibrate(raw, outcomes, message):
    with pytest.raises(RouterError, match=message):
        fit_calibration(raw, outcomes)


def test_round_trip_and_bad_files_name_the_file(tmp_path):
    calibration = Calibration(scale=0.5, bias=-1.0, n_queries=10, log_loss_raw=0.7, log_loss_calibrated=0.6)
    calibration.save(tmp_path / CALIBRATION_FILE)
    assert Calibration.load(tmp_path / CALIBRATION_FILE) == calibration
    (tmp_path / "bad.json").write_text(json.dumps({"scale": 1.0}))
    with pytest.raises(RouterError, match="bad.json: not a calibration file"):
        Calibration.load(tmp_path / "bad.json")
    (tmp_path / "negative.json").write_text(json.dumps({**calibration.__dict__, "scale": -2.0}))
    with pytest.raises(RouterError, match="negative.json: scale must be positive"):
        Calibration.load(tmp_path / "negative.json")


def test_calibration_across_zoos_fits_every_zoos_pairs_and_counts_every_zoos_queries() -> None:
    from modelsat.router.routing.calibration import fit_calibration_by_zoo

    rng = np.random.default_rng(1)
    zoos = [(rng.normal(size=(q, n)), None) for q, n in ((30, 4), (12, 7))]
    scored = [(s, (rng.random(s.shape) < 1 / (1 + np.exp(-2 * s))).astype(float)) for s, _ in zoos]
    fitted = fit_calibration_by_zoo(scored)
    pooled = fit_calibration(
        np.concatenate([s.ravel() for s, _ in scored])[None, :], np.concatenate([y.ravel() for _, y in scored])[None, :]
    )
    assert fitted.n_queries == 42 and (fitted.scale, fitted.bias) == pytest.approx((pooled.scale, pooled.bias))
    assert fit_calibration_by_zoo(scored[:1]).n_queries == 30


def test_task_levels_recover_a_per_task_offset_and_keep_every_ranking() -> None:
    rng = np.random.default_rng(3)
    raw = rng.normal(0, 2, size=(3000, 6))
    tasks = rng.choice(["arc", "mbpp", "winogrande"], size=3000)
    offset = {"arc": 1.0, "mbpp": -1.0, "winogrande": 0.0}  # the router too shy on one kind, too sure on another
    truth = 0.8 * raw - 0.2 + np.array([offset[t] for t in tasks])[:, None]
    outcomes = (rng.random(raw.shape) < sigmoid(truth)).astype(float)
    by_task = fit_calibration(raw, outcomes, tasks)
    one_map = fit_calibration(raw, outcomes)
    assert by_task.task_bias.keys() == set(offset)
    levels = {t: by_task.bias + by_task.task_bias[t] for t in offset}
    assert levels["arc"] - levels["mbpp"] == pytest.approx(2.0, abs=0.25)
    assert levels["winogrande"] - levels["mbpp"] == pytest.approx(1.0, abs=0.25)
    assert by_task.log_loss_calibrated < one_map.log_loss_calibrated - 0.01
    assert by_task.log_loss_calibrated == pytest.approx(log_loss(by_task.apply(raw, list(tasks)), outcomes))
    np.testing.assert_array_equal(np.argsort(by_task.apply(raw, list(tasks)), axis=1), np.argsort(raw, axis=1))
    with pytest.raises(RouterError, match="nearest task"):
        by_task.apply(raw)
    assert by_task.apply(raw[:1], ["a task without validation queries"]) == pytest.approx(
        by_task.scale * raw[:1] + by_task.bias
    )


def test_task_levels_that_do_not_predict_held_out_queries_are_dropped(tmp_path) -> None:
    rng = np.random.default_rng(4)
    raw = rng.normal(0, 2, size=(400, 5))
    outcomes = (rng.random(raw.shape) < sigmoid(0.8 * raw)).astype(float)  # one level for every task
    tasks = [f"task/{i}" for i in rng.integers(0, 40, size=400)]
    calibration = fit_calibration(raw, outcomes, tasks)
    assert calibration.task_bias == {}
    np.testing.assert_allclose(calibration.apply(raw), fit_calibration(raw, outcomes).apply(raw))
    assert len(fit_calibration(raw, outcomes, tasks, levels=True).task_bias) == len(set(tasks))  # kept untested
    with pytest.raises(RouterError, match="399 tasks for 400 validation queries"):
        fit_calibration(raw, outcomes, tasks[:-1])
    kinds = ["a" if i % 2 else "b" for i in range(400)]
    shifted = (rng.random(raw.shape) < sigmoid(0.8 * raw + np.where(np.arange(400) % 2, 1.5, -1.5)[:, None])) * 1.0
    levelled = fit_calibration(raw, shifted, kinds)
    assert levelled.task_bias.keys() == {"a", "b"}
    assert fit_calibration(raw, shifted, kinds, levels=False).task_bias == {}
    levelled.save(tmp_path / CALIBRATION_FILE)
    assert Calibration.load(tmp_path / CALIBRATION_FILE) == levelled
