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
    raw, tasks = load_router(router, calibrated=False, mode=mode).scores_and_tasks(prompts)
    assert tasks[0] != tasks[1]  # a coding request and a reasoning question are nearest different aptitude tasks
    calibrated = load_router(router, mode=mode).score_instructions(prompts)
    np.testing.assert_allclose(calibrated, calibration.apply(raw, tasks if calibration.task_bias else None), atol=1e-4)
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


def test_calibrate_targets_writes_the_curve_and_route_reads_its_lambda(
    routerbench_file: Path, tmp_path: Path, cli
) -> None:
    """On 20 real validation queries with their recorded costs: the curve starts at the quality-only routing, each
    standard target is printed, the router's P(Yes) calibration is left alone, and `route --target` routes at
    the target's λ."""
    import json

    import yaml

    from modelsat.cost.targets import TARGETS_FILE, Target, TargetCurve

    router = tmp_path / "router"
    shutil.copytree(ROUTER, router)
    before = (router / CALIBRATION_FILE).read_text()
    args = ("--router", router, "--outcomes", routerbench_file, "--limit", "20", "--mode", "full", "--targets")
    code, out, err = cli("calibrate", *args)
    assert code == 0, err
    curve = TargetCurve.load(router / TARGETS_FILE)
    assert curve.n_queries == 20 and curve.strongest in curve.models and len(curve.models) == 11
    assert curve.strong_share[-1] == 0.0 and curve.cost[-1] < curve.cost[0]
    for name in ("quality=0.9", "quality=0.95", "quality=0.99", "budget=0.2", "budget=0.5"):
        assert f"\n{name} " in out
    assert "strong_share" not in out  # 11 models are not a strong/weak pair
    assert (router / CALIBRATION_FILE).read_text() == before

    prices = {
        "models": {m: {"input": 1.0 + i, "output": 2.0 + i, "source": "test"} for i, m in enumerate(curve.models)}
    }
    (tmp_path / "prices.yaml").write_text(yaml.safe_dump(prices))
    route_args = ("--router", router, "--prices", tmp_path / "prices.yaml", "--mode", "full", "--json")
    text = "Write a python function to sort a list."
    code, out, err = cli("route", *route_args, "--target", "budget=0.5", text)
    assert code == 0, err
    choice = curve.resolve(Target(budget=0.5))
    mix = f", {choice.share_alt:.0%} of requests at λ = {choice.lam_alt:.4g}" if choice.share_alt else ""
    assert f"budget=0.5: λ = {choice.lam:.4g}{mix} (" in " ".join(err.split())
    lam = choice.lam_for(text)
    ranking = json.loads(out)["ranking"]
    assert [r["net_utility"] for r in ranking] == sorted((r["net_utility"] for r in ranking), reverse=True)
    assert ranking[0]["net_utility"] == pytest.approx(ranking[0]["p_yes"] - lam * ranking[0]["cost_usd"])
    code, _, err = cli("route", *route_args, "--target", "budget=0.5", "--lambda", "3", "Sort a list.")
    assert code == 2 and "give --lambda or --target, not both" in err
