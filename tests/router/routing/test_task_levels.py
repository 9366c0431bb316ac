"""A calibration with a level per aptitude task, on the real one router: each request gets the level of the task its
routing text is nearest, every candidate of a request the same (rankings never change), and `modelsat calibrate`
fits and writes one that routing then reads."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from modelsat.errors import RouterError
from modelsat.router.routing.calibration import FAST_CALIBRATION_FILE, Calibration
from modelsat.router.routing.prototypes import PROTOTYPES_FILE
from modelsat.router.routing.service import load_router

SHIPPED = Path(__file__).resolve().parents[3] / "routers" / "default"
MODELS = ["gpt4_1106_preview", "MetaMath-Mistral-7B", "DeepSeek-Coder-V2", "Phi-3-mini-4k-instruct"]
REQUESTS = {
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips "
    "did Natalia sell altogether in April and May?": "routerdc/gsm8k/",
    "Write a short, friendly email inviting my team to a picnic on Saturday.": "alpaca-eval/",
}


@pytest.fixture
def router(tmp_path) -> Path:
    out = tmp_path / "router"
    shutil.copytree(SHIPPED, out)
    return out


def test_each_request_gets_the_level_of_its_nearest_task(router: Path) -> None:
    raw_service = load_router(router, calibrated=False, mode="fast")
    raw, tasks = raw_service.scores_and_tasks(list(REQUESTS), MODELS)
    assert [t.startswith(prefix) for t, prefix in zip(tasks, REQUESTS.values(), strict=True)] == [True, True]
    levels = {t.name: (2.0 if t.name.startswith("routerdc/gsm8k/") else -1.0) for t in raw_service.aptitude.tasks}
    Calibration(0.5, 0.1, 100, 0.7, 0.6, levels).save(router / FAST_CALIBRATION_FILE)
    calibrated = load_router(router, mode="fast").score_instructions(list(REQUESTS), MODELS)
    expected = 0.5 * raw + 0.1 + np.array([[2.0], [-1.0]])
    np.testing.assert_allclose(calibrated, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.argsort(calibrated, axis=1), np.argsort(raw, axis=1))


def test_task_levels_without_prototypes_are_refused_naming_the_file(router: Path) -> None:
    Calibration(0.5, 0.1, 100, 0.7, 0.6, {"routerdc/gsm8k/00": 1.0}).save(router / FAST_CALIBRATION_FILE)
    (router / PROTOTYPES_FILE).unlink()
    with pytest.raises(RouterError, match=PROTOTYPES_FILE):
        load_router(router, mode="fast")


def test_calibrate_fits_levels_that_routing_applies(router: Path, all_outcomes_file: Path, cli) -> None:
    result = cli("calibrate", "--router", router, "--outcomes", all_outcomes_file, "--mode", "fast", "--limit", "150")
    assert result.code == 0, result.stderr
    calibration = Calibration.load(router / FAST_CALIBRATION_FILE)
    scored = re.search(r"scoring (\d+) validation queries", result.stderr)
    assert scored and calibration.n_queries == int(scored[1])
    assert 300 < calibration.n_queries <= 450  # at most 150 of each of the three zoos' validation queries
    assert calibration.log_loss_calibrated < calibration.log_loss_raw
    assert set(calibration.task_bias) <= {t.name for t in load_router(router, mode="fast").aptitude.tasks}
    service, raw_service = load_router(router, mode="fast"), load_router(router, calibrated=False, mode="fast")
    raw, tasks = raw_service.scores_and_tasks(list(REQUESTS), MODELS)
    np.testing.assert_array_equal(raw, raw_service.score_instructions(list(REQUESTS), MODELS))
    levels = [calibration.task_bias.get(t, 0.0) for t in tasks]
    expected = calibration.scale * raw + calibration.bias + np.array(levels)[:, None]
    np.testing.assert_allclose(service.score_instructions(list(REQUESTS), MODELS), expected, rtol=1e-5, atol=1e-5)
