"""`modelsat calibrate` on the shipped RouterBench router and real validation outcomes: it writes a
calibration that lowers the validation log-loss, and routing with it keeps every ranking."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from modelsat.router.routing.calibration import CALIBRATION_FILE, Calibration, calibration_file
from modelsat.router.routing.service import load_router

ROUTER = Path(__file__).resolve().parents[2] / "routers" / "routerbench"


@pytest.mark.parametrize("mode", ["full"])
def test_calibrate_fits_on_validation_and_keeps_rankings(routerbench_file: Path, tmp_path: Path, cli, mode) -> None:
    router = tmp_path / "router"
    shutil.copytree(ROUTER, router)
    (router / CALIBRATION_FILE).unlink(missing_ok=True)
    args = ("--router", router, "--outcomes", routerbench_file, "--limit", "40", "--mode", mode)
    code, out, err = cli("calibrate", *args)
    assert code == 0, err
    assert "validation log-loss" in out and "on 40 queries" in out
    assert sorted(p.name for p in router.glob("calibration*.json")) == [calibration_file(mode)]
    calibration = Calibration.load(router / calibration_file(mode))
    assert calibration.scale > 0 and calibration.n_queries == 40
    assert calibration.log_loss_calibrated <= calibration.log_loss_raw
    prompts = ["Write a python function to reverse a list.", "Which is heavier, a kilogram of iron or of wool?"]
    raw = load_router(router, calibrated=False, mode=mode).score_instructions(prompts)
    calibrated = load_router(router, mode=mode).score_instructions(prompts)
    np.testing.assert_allclose(calibrated, calibration.apply(raw), atol=1e-4)
    np.testing.assert_array_equal(np.argsort(-calibrated, axis=1), np.argsort(-raw, axis=1))


def test_calibrate_refuses_scores_that_rank_backwards(routerbench_file: Path, tmp_path: Path, cli) -> None:
    """RouterBench's router in fast mode is its prior head alone, which ranks the validation outcomes backwards
    (docs/router.md): no calibration can fix that, and none is written."""
    router = tmp_path / "router"
    shutil.copytree(ROUTER, router)
    args = ("--router", router, "--outcomes", routerbench_file, "--limit", "40", "--mode", "fast")
    code, _, err = cli("calibrate", *args)
    assert code == 1 and "do not rank the validation outcomes" in err
    assert not (router / calibration_file("fast")).exists()


def test_calibrate_names_a_router_without_its_files(routerbench_file: Path, tmp_path: Path, cli) -> None:
    code, _, err = cli("calibrate", "--router", tmp_path, "--outcomes", routerbench_file)
    assert code == 1 and "router directory is missing config.yaml" in err


def test_calibrate_refuses_unknown_models(routerbench_file: Path, tmp_path: Path, cli) -> None:
    router = tmp_path / "router"
    shutil.copytree(ROUTER, router)
    (router / CALIBRATION_FILE).unlink(missing_ok=True)
    code, _, err = cli("calibrate", "--router", router, "--outcomes", routerbench_file, "--models", "gpt-5")
    assert code == 2 and "unknown model(s) 'gpt-5'" in err
    assert not (router / CALIBRATION_FILE).exists()
