"""`modelsat evaluate --cost` end to end on the real RouterBench subset, and the cost flags of `route`."""

import json
from pathlib import Path

import pytest

PRICES = Path(__file__).parents[2] / "configs" / "prices" / "mixed.yaml"


def test_evaluate_cost_on_routerbench(routerbench_file: Path, tmp_path: Path, cli) -> None:
    args = ["evaluate", "--outcomes", routerbench_file, "--zoo", "all", "--baselines", "per-task,tfidf-knn"]
    args += ["--cost", "-o", tmp_path / "r.json", "--plots", tmp_path / "plots"]
    code, out, err = cli(*args)
    assert code == 0, err
    cost = json.loads((tmp_path / "r.json").read_text())["cost"]
    assert cost["costs"] == {"source": "outcomes"}
    assert cost["best_single"]["model"] == "gpt-4-1106-preview"
    assert cost["pair"] == {"strong": "gpt-4-1106-preview", "weak": "mistralai/mistral-7b-chat"}
    assert set(cost["methods"]) == {"best-single", "per-task", "tfidf-knn"}
    zero, oracle = cost["zero_router"]["aiq"], cost["oracle"]["aiq"]
    for name, stats in cost["methods"].items():
        assert zero - 0.02 < stats["aiq"] < oracle, name
        assert stats["points"][0]["lambda"] == 0.0 and stats["points"][-1]["lambda"] == "inf"
        assert 0 <= stats["apgr"] <= 1
    # λ = 0 is quality-only routing: the same accuracy as the quality table
    report = json.loads((tmp_path / "r.json").read_text())
    assert cost["methods"]["per-task"]["points"][0]["quality"] == pytest.approx(
        report["methods"]["per-task"]["accuracy"]
    )
    assert cost["methods"]["per-task"]["aiq"] > zero  # the task label alone beats mixing single models
    assert "| zero-router |" in out and "APGR" in out
    assert (tmp_path / "plots" / "frontier.png").stat().st_size > 10_000


def test_evaluate_cost_prices_override_recorded_costs(routerbench_file: Path, tmp_path: Path, cli) -> None:
    prices = tmp_path / "p.yaml"
    models = ["gpt-4-1106-preview", "mistralai/mistral-7b-chat"]
    prices.write_text(
        "models:\n"
        + "".join(f"  {m}: {{input: {p}, output: {p}, source: test}}\n" for m, p in zip(models, [10, 0.2], strict=True))
    )
    args = ["evaluate", "--outcomes", routerbench_file, "--models", ",".join(models), "--baselines", "per-task"]
    args += ["--cost", "--prices", prices, "--pair", ",".join(models), "-o", tmp_path / "r.json", "--limit", "200"]
    code, _, err = cli(*args)
    assert code == 0, err
    cost = json.loads((tmp_path / "r.json").read_text())["cost"]
    assert cost["costs"]["source"] == "prices" and cost["costs"]["expected_output_tokens"] == 256
    assert cost["singles"][models[0]]["cost"] > 40 * cost["singles"][models[1]]["cost"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--prices", PRICES], "--prices, --pair and --targets only apply with --cost"),
        (["--cost", "--targets"], "--targets needs --router"),
        (["--cost", "--prices", PRICES], "no price for model(s) WizardLM/WizardLM-13B-V1.2"),
        (["--cost", "--pair", "gpt-4-1106-preview"], "--pair takes two different models"),
    ],
)
def test_evaluate_cost_usage_errors(routerbench_file: Path, tmp_path: Path, cli, extra, message) -> None:
    args = ["evaluate", "--outcomes", routerbench_file, "--zoo", "all", "--baselines", "per-task", "-o", tmp_path / "r"]
    code, _, err = cli(*args, *extra)
    assert code == 2
    assert message in err


def test_route_needs_prices_for_a_tradeoff(cli) -> None:
    code, _, err = cli("route", "--lambda", "100", "Solve 3x + 7 = 22.")
    assert code == 2
    assert "--lambda, --max-cost and --target need --prices FILE" in err


def test_route_result_orders_by_the_tradeoff() -> None:
    import numpy as np

    from modelsat.cli.route import _result

    log_odds = np.array([2.0, 0.5, -1.0])
    probs = 1 / (1 + np.exp(-log_odds))
    costs = np.array([0.01, 0.001, 0.0001])
    plain = _result("q", ["a", "b", "c"], log_odds, probs, costs * 0, 0.0, None, priced=False)
    assert [e["model"] for e in plain["ranking"]] == ["a", "b", "c"] and "cost_usd" not in plain["ranking"][0]
    capped = _result("q", ["a", "b", "c"], log_odds, probs, costs, 0.0, 0.005, priced=True)
    assert [e["model"] for e in capped["ranking"]] == ["b", "c"] and capped["over_budget"] is False
    cheap = _result("q", ["a", "b", "c"], log_odds, probs, costs, 1e6, None, priced=True)
    assert cheap["model"] == "c"
    assert cheap["ranking"][0]["net_utility"] == pytest.approx(probs[2] - 1e6 * 0.0001)


def test_evaluate_targets_routes_the_test_queries_at_each_calibrated_lambda(
    routerbench_file: Path, tmp_path: Path, cli
) -> None:
    """The shipped RouterBench router's targets on 30 test queries: each standard target's λ is the calibrated one,
    and the report and table say what the queries got beside the promise."""
    from modelsat.cost.targets import Target, TargetCurve

    router = Path(__file__).parents[2] / "routers" / "routerbench"
    args = ["evaluate", "--outcomes", routerbench_file, "--zoo", "all", "--router", router, "--mode", "full"]
    args += ["--baselines", "per-task", "--cost", "--targets", "--limit", "30", "-o", tmp_path / "r.json"]
    code, out, err = cli(*args)
    assert code == 0, err
    targets = json.loads((tmp_path / "r.json").read_text())["cost"]["targets"]
    assert list(targets) == ["model-sat"]
    curve = TargetCurve.load(router / "targets.json")
    for name in ("quality=0.9", "quality=0.95", "quality=0.99", "budget=0.2", "budget=0.3", "budget=0.5"):
        got = targets["model-sat"][name]
        choice = curve.resolve(Target.parse(name))
        assert (got["lam"], got["lam_alt"], got["share_alt"]) == (choice.lam, choice.lam_alt, choice.share_alt)
        assert 0 <= got["share_alt_measured"] <= 1
        assert 0 <= got["accuracy"] <= 1 and got["strongest_accuracy"] > 0
    quality = targets["model-sat"]["quality=0.95"]
    assert quality["promised_accuracy"] == pytest.approx(0.95 * quality["strongest_accuracy"])
    assert quality["accuracy_gap_points"] == pytest.approx(100 * (quality["accuracy"] - quality["promised_accuracy"]))
    assert quality["promised_cost"] == pytest.approx(quality["expected_cost"])  # USD per query, as calibrated
    budget = targets["model-sat"]["budget=0.5"]
    assert budget["cost_ratio"] == pytest.approx(budget["cost"] / (0.5 * budget["strongest_cost"]))
    assert budget["promised_accuracy"] == pytest.approx(
        budget["expected_accuracy"] / curve.strongest_accuracy * budget["strongest_accuracy"]
    )
    assert "Targets of model-sat" in out and "| quality=0.95 |" in out
