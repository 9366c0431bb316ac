import json

import numpy as np
import pandas as pd
import pytest
from eval_fixtures import MODELS, TopicRouter

from modelsat.data.splits import split_for
from modelsat.evaluation.plots import write_plots
from modelsat.evaluation.report import NO_MODEL_SAT, to_markdown, write_report
from modelsat.evaluation.run import EvalOptions, evaluate

CHEAP = ["best-single", "oracle", "random", "per-task", "per-category", "tfidf-knn"]
METHOD_KEYS = {"accuracy", "by_domain", "by_task", "by_category", "share"}


@pytest.fixture(scope="module")
def report(synthetic_outcomes: pd.DataFrame) -> dict:
    options = EvalOptions(models=MODELS, baselines=CHEAP, aptitude_ids=frozenset({"syn/0", "syn/1"}), holdout=["C"])
    return evaluate(synthetic_outcomes, options, model_sat=TopicRouter())


def test_report_has_the_design_schema(report: dict) -> None:
    assert report["zoo"] == MODELS and report["split"] == "test"
    assert report["n_queries"] > 40
    assert set(report["models"]) == set(MODELS)
    assert set(report["methods"]) == {*CHEAP, "model-sat"}
    for stats in report["methods"].values():
        assert set(stats) >= METHOD_KEYS
        assert set(stats["by_domain"]) == {"in_domain", "out_of_domain"}
        assert sum(stats["share"].values()) == pytest.approx(1.0)
    assert report["timing"]["method"] == "model-sat"
    assert isinstance(report["timing"]["route_ms_p50"], float)
    assert set(report["timing"]["by_method"]) == set(report["methods"])
    assert report["model_sat_included"] and report["notes"] == []
    json.dumps(report)  # serialisable as is


def test_oracle_bounds_every_method_and_singles(report: dict) -> None:
    oracle = report["methods"]["oracle"]["accuracy"]
    assert all(stats["accuracy"] <= oracle + 1e-12 for stats in report["methods"].values())
    assert all(acc <= oracle for acc in report["models"].values())
    assert report["methods"]["model-sat"]["accuracy"] > report["methods"]["best-single"]["accuracy"]


def test_random_reports_its_expectation(report: dict) -> None:
    expected = report["methods"]["random"]["expected_accuracy"]
    assert expected == pytest.approx(np.mean(list(report["models"].values())))


def test_new_models_section(report: dict) -> None:
    section = report["new_models"]
    assert section["models"] == ["C"]
    c = section["by_method"]["model-sat"]["C"]
    assert c["share"] == pytest.approx(report["methods"]["model-sat"]["share"]["C"])
    assert c["accuracy_when_routed"] > 0.6  # the stand-in sends physics, C's strength, to C


def test_new_models_gain_is_with_minus_without_on_the_same_queries(report: dict, synthetic_outcomes) -> None:
    section = report["new_models"]
    assert section["old_zoo"] == ["A", "B"]
    for name, acc in section["accuracy"].items():
        assert acc["with"] == pytest.approx(report["methods"][name]["accuracy"])
        if name in section["gain"]:
            gain = section["gain"][name]
            assert gain["difference"] == pytest.approx(acc["with"] - acc["without"])
            assert gain["ci95"][0] <= gain["difference"] <= gain["ci95"][1]
    assert section["gain"]["model-sat"]["ci95"][0] > 0, "the stand-in sends physics to C, which is right there"
    ratio = section["gain"]["model-sat"]["difference"] / section["gain"]["per-category"]["difference"]
    assert section["realised"]["per-category"] == pytest.approx(ratio)
    assert section["curve"]["n_new"] == [0, 1]
    assert section["curve"]["accuracy"]["model-sat"] == pytest.approx(
        [section["accuracy"]["model-sat"]["without"], section["accuracy"]["model-sat"]["with"]]
    )
    assert section["best_new"] == {"model": "C", "accuracy": pytest.approx(report["models"]["C"])}


def test_new_models_share_beside_the_hindsight_per_category_router(report: dict, synthetic_outcomes) -> None:
    shares = report["new_models"]["share"]["C"]
    assert shares["model-sat"] == pytest.approx(report["methods"]["model-sat"]["share"]["C"])
    queries = synthetic_outcomes.drop_duplicates("query_id")
    test = queries[queries["query_id"].map(split_for).eq("test") & ~queries["query_id"].isin({"syn/0", "syn/1"})]
    assert shares["hindsight-per-category"] == pytest.approx((test["category"] == "physics").mean())
    text = to_markdown(report)
    assert "New models (never trained on" in text and "| model-sat |" in text
    assert "hindsight-per-category" in text


def test_test_queries_are_complete_test_split_without_aptitude(synthetic_outcomes: pd.DataFrame) -> None:
    partial = synthetic_outcomes[~((synthetic_outcomes["model"] == "C") & (synthetic_outcomes["query_id"] == "syn/5"))]
    full = evaluate(synthetic_outcomes, EvalOptions(models=MODELS, baselines=["oracle"], aptitude_ids=frozenset()))
    dropped = evaluate(partial, EvalOptions(models=MODELS, baselines=["oracle"], aptitude_ids=frozenset({"syn/7"})))
    n_test = sum(split_for(f"syn/{i}") == "test" for i in range(400))
    assert full["n_queries"] == n_test
    assert dropped["n_queries"] == n_test - (split_for("syn/5") == "test") - (split_for("syn/7") == "test")


def test_markdown_table_rows_and_plots(report: dict, tmp_path) -> None:
    text = to_markdown(report)
    table, comparison = text.split("\n\n")[1], text.split("\n\n")[3]
    lines = table.splitlines()
    names = [line.split("|")[1].strip() for line in lines[2:]]
    assert names[:3] == MODELS
    assert names[3:6] == ["**best-single**", "**random**", "**oracle**"]
    assert names[-1] == "**model-sat**"
    assert "in-domain" in lines[0] and "physics" in lines[0] and lines[0].rstrip(" |").endswith("mean")
    compared = [line.split("|")[1].strip() for line in comparison.splitlines()[2:]]
    assert compared == list(report["model_sat_vs"]) and "model-sat" not in compared
    write_report(report, tmp_path / "report.json")
    assert json.loads((tmp_path / "report.json").read_text())["n_queries"] == report["n_queries"]
    for path in write_plots(report, tmp_path / "plots"):
        assert path.read_bytes()[:4] == b"\x89PNG"


def test_model_sat_is_compared_with_every_other_method_on_the_same_queries(report: dict) -> None:
    comparison = report["model_sat_vs"]
    assert set(comparison) == set(report["methods"]) - {"model-sat"}
    ours = report["methods"]["model-sat"]["accuracy"]
    for name, diff in comparison.items():
        assert diff["difference"] == pytest.approx(ours - report["methods"][name]["accuracy"])
        low, high = diff["ci95"]
        assert low <= diff["difference"] <= high
    assert comparison["oracle"]["ci95"][1] <= 0, "nothing beats the oracle on any resample"


def test_without_model_sat_the_report_says_so(synthetic_outcomes: pd.DataFrame) -> None:
    report = evaluate(synthetic_outcomes, EvalOptions(models=MODELS, baselines=["oracle"], limit=20))
    assert report["n_queries"] == 20
    assert "model-sat" not in report["methods"] and not report["model_sat_included"]
    assert "model_sat_vs" not in report
    assert NO_MODEL_SAT in report["notes"] and NO_MODEL_SAT in to_markdown(report)
    assert report["timing"]["route_ms_p50"] is None


def test_declared_domains_give_the_task_averaged_protocol(synthetic_outcomes: pd.DataFrame) -> None:
    # RouterDC's protocol: the data declares which tasks are out of distribution, and tasks weigh the same.
    declared = synthetic_outcomes.assign(
        domain=np.where(synthetic_outcomes["task"] == "mmlu/history", "out_of_domain", "in_domain")
    )
    report = evaluate(declared, EvalOptions(models=MODELS, baselines=["per-task"]), model_sat=TopicRouter())
    assert report["protocol"] == "task-averaged"
    oracle = report["methods"]["oracle"]
    in_tasks = [oracle["by_task"][t] for t in ("mmlu/math", "mmlu-pro/physics")]
    assert oracle["task_averaged"]["in_domain"] == pytest.approx(np.mean(in_tasks))
    assert oracle["task_averaged"]["out_of_domain"] == pytest.approx(oracle["by_task"]["mmlu/history"])
    versus = report["model_sat_vs_task_averaged"]["per-task"]
    assert set(versus) == {"all", "in_domain", "out_of_domain"}
    text = to_markdown(report)
    assert "| router | in-domain (task avg) | out-of-domain (task avg) | mmlu-pro/physics |" in text
    assert "task-averaged (every task weighs the same)" in text
    assert evaluate(synthetic_outcomes, EvalOptions(models=MODELS, baselines=["oracle"]))["protocol"] == (
        "query-weighted"
    )


def test_the_default_fast_mode_is_compared_with_the_baselines_first(report: dict) -> None:
    both = {**report, "model_sat_fast_vs": report["model_sat_vs"]}
    text = to_markdown(both)
    fast, full = text.index("Model-SAT fast minus each method"), text.index("Model-SAT minus each method")
    assert fast < full
