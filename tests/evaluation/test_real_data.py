"""The baselines on the real small-5 zoo, against DESIGN §3's figures (measured with the aptitude set kept)."""

import pytest

from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.zoos import SMALL, SMALL_5
from modelsat.evaluation.run import EvalOptions, evaluate

CHEAP = ["best-single", "oracle", "random", "per-category", "per-task", "tfidf-knn"]


@pytest.fixture(scope="module")
def small5(mmlu_outcomes) -> dict:
    return evaluate(mmlu_outcomes, EvalOptions(models=list(SMALL_5), baselines=CHEAP, n_timing=2, curve_subsets=2))


def test_small5_baselines_match_design_figures(small5: dict) -> None:
    methods = small5["methods"]
    assert small5["n_queries"] == 2423
    assert max(small5["methods"]["best-single"]["share"].items(), key=lambda kv: kv[1]) == ("mathstral-7B", 1.0)
    assert methods["random"]["expected_accuracy"] == pytest.approx(0.339, abs=0.012)
    assert methods["random"]["accuracy"] == pytest.approx(0.339, abs=0.025)
    assert methods["oracle"]["accuracy"] == pytest.approx(0.672, abs=0.012)
    assert methods["per-category"]["accuracy"] == pytest.approx(0.458, abs=0.012)
    assert methods["tfidf-knn"]["accuracy"] == pytest.approx(0.428, abs=0.015)
    oracle = methods["oracle"]["accuracy"]
    assert all(stats["accuracy"] <= oracle for stats in methods.values())
    assert methods["per-category"]["accuracy"] > methods["best-single"]["accuracy"] > methods["random"]["accuracy"]


def test_aptitude_questions_leave_the_test_set(mmlu_outcomes, small5: dict) -> None:
    aptitude = select_aptitude_set(mmlu_outcomes, list(SMALL))
    report = evaluate(
        mmlu_outcomes,
        EvalOptions(models=list(SMALL_5), baselines=["oracle"], aptitude_ids=aptitude.query_ids, n_timing=0),
    )
    removed = small5["n_queries"] - report["n_queries"]
    assert 150 < removed < 250  # about 20 % of the 1,000 aptitude questions fall in the test split
    assert report["aptitude_excluded"] == 1000


STRONG = ["Meta-Llama-3_1-70B-Instruct", "gemini-1.5-pro-002"]


def test_a_card_lookup_uses_strong_new_models_from_their_aptitude_answers_alone(mmlu_outcomes) -> None:
    """Two strong models join small-5 knowing only their 1,000 aptitude answers: the zero-shot peer routes
    to them, gaining most of what per-category gains with their full train labels."""
    aptitude = select_aptitude_set(mmlu_outcomes, list(SMALL))
    options = EvalOptions(
        models=[*SMALL_5, *STRONG],
        baselines=["card-lookup", "per-category"],
        aptitude_ids=aptitude.query_ids,
        holdout=STRONG,
        n_timing=0,
        curve_subsets=1,
    )
    section = evaluate(mmlu_outcomes, options)["new_models"]
    gain = section["gain"]["card-lookup"]
    assert gain["ci95"][0] > 0.15, "two 60-70 % models added to a 40 % zoo"
    assert gain["difference"] > 0.8 * section["gain"]["per-category"]["difference"]
    assert sum(section["share"][m]["card-lookup"] for m in STRONG) > 0.9
    assert section["accuracy"]["card-lookup"]["with"] > section["best_new"]["accuracy"] - 0.03
