"""Deterministic splits (70/10/20 by sha256), domains, and named zoos."""

import hashlib

import pandas as pd
import pytest

from modelsat.data.splits import domain_of, is_in_domain, split_for, split_of, split_outcomes
from modelsat.data.zoos import MIXED, SMALL, SMALL_5, ZOOS, resolve_zoo
from modelsat.errors import ConfigError


def test_split_is_sha256_bucket() -> None:
    for qid in ["mmlu-pro/70", "routerbench/mbpp.dev.1", "lm-eval/arc_easy/0"]:
        bucket = int(hashlib.sha256(qid.encode()).hexdigest()[:16], 16) % 100
        assert split_for(qid) == ("train" if bucket < 70 else "validation" if bucket < 80 else "test")
    ids = [f"q{i}" for i in range(50)]
    assert list(split_of(ids)) == [split_for(q) for q in ids]


def test_real_split_proportions_and_stability(mmlu_outcomes: pd.DataFrame) -> None:
    queries = mmlu_outcomes.drop_duplicates("query_id")
    shares = pd.Series(split_of(queries["query_id"])).value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.70, abs=0.02)
    assert shares["validation"] == pytest.approx(0.10, abs=0.02)
    assert shares["test"] == pytest.approx(0.20, abs=0.02)
    # Golden figure: the test split of the 12,032 MMLU-Pro questions never changes.
    assert int((split_of(queries["query_id"]) == "test").sum()) == 2_423


def test_every_model_shares_the_same_split(mmlu_outcomes: pd.DataFrame) -> None:
    test = split_outcomes(mmlu_outcomes, "test")
    per_model = test.groupby("model")["query_id"].apply(frozenset)
    full = per_model["Phi-3-mini-4k-instruct"]
    assert all(ids <= full for ids in per_model)


def test_split_outcomes_excludes_aptitude_ids() -> None:
    df = pd.DataFrame({"query_id": [f"q{i}" for i in range(200)]})
    train = split_outcomes(df, "train")
    held = set(train["query_id"][:5])
    assert set(split_outcomes(df, "train", exclude=held)["query_id"]) == set(train["query_id"]) - held
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        split_outcomes(df, "dev")


def test_domains(mmlu_outcomes: pd.DataFrame) -> None:
    sources = pd.Series(["ori_mmlu-high_school_physics", "stemez", "theoremQA", "scibench", "routerbench"])
    assert list(is_in_domain(sources)) == [True, False, False, False, False]
    assert list(domain_of(pd.DataFrame({"source": sources}))) == ["in_domain"] + ["out_of_domain"] * 4
    declared = pd.DataFrame({"source": ["stemez", "routerdc", "routerdc"], "domain": [None, "in_domain", None]})
    assert list(domain_of(declared)) == ["out_of_domain", "in_domain", "out_of_domain"]
    queries = mmlu_outcomes.drop_duplicates("query_id")
    assert int(is_in_domain(queries["source"]).sum()) == 6_810


def test_named_zoos_resolve_on_real_models(mmlu_outcomes: pd.DataFrame) -> None:
    available = mmlu_outcomes["model"].unique()
    assert resolve_zoo(available, zoo="small-5") == list(SMALL_5)
    assert len(resolve_zoo(available, zoo="small")) == len(SMALL) == 12
    assert resolve_zoo(available, zoo="mixed") == list(MIXED)
    assert len(resolve_zoo(available)) == 25 and set(ZOOS) == {
        "small-5",
        "small",
        "mixed",
        "specialists",
        "chat",
        "all",
    }
    assert resolve_zoo(available, models="Yi-6B, mathstral-7B") == ["Yi-6B", "mathstral-7B"]


def test_unknown_names_list_the_available_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown zoo 'big'; named zoos: small-5, small, mixed, specialists, chat, all"
    ):
        resolve_zoo(["a"], zoo="big")
    with pytest.raises(
        ConfigError, match=r"unknown model\(s\) 'alpah' \(did you mean 'alpha'\?\); available: alpha, beta"
    ):
        resolve_zoo(["alpha", "beta"], models="alpah")
    with pytest.raises(ConfigError, match="unknown model.*Phi-3-mini-4k-instruct"):
        resolve_zoo(["alpha"], zoo="small-5")
    with pytest.raises(ConfigError, match="either --zoo or --models"):
        resolve_zoo(["alpha"], zoo="all", models="alpha")
