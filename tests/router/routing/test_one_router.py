"""The shipped one router (`routers/default`) on mixed traffic: one candidate set drawn from three zoos, each model
tested in its own zoo only, and test questions of several kinds routed among them (docs/one-router.md)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsat.data.schema import read_outcomes
from modelsat.data.splits import split_of
from modelsat.demo import strongest_by_card
from modelsat.router.routing.service import load_router

ROUTERS = Path(__file__).resolve().parents[3] / "routers"
# A team's zoo: two MMLU-Pro models (one joined by card), three RouterDC specialists, two AlpacaEval chat models (one
# joined by card). No card is tested on every kind: each was tested in its own zoo only.
TEAM = [
    "gemini-1.5-pro-002",
    "Qwen1.5-7B-Chat",
    "MetaMath-Mistral-7B",
    "dolphin-2.9-llama3-8b",
    "Chinese-Mistral-7B-v0.1",
    "gpt4_1106_preview",
    "vicuna-7b",
]
# Test questions (query-id prefix) and the aptitude entries (task-name prefix) that test their kind of request; MBPP
# and C-Eval are RouterDC's out-of-distribution tasks, with no entry of their own.
KINDS = {
    "mmlu-pro/": "mmlu-pro/",
    "routerdc/gsm8k/": "routerdc/gsm8k/",
    "routerdc/humaneval/": "routerdc/humaneval/",
    "routerdc/mbpp/": "routerdc/humaneval/",
    "routerdc/cmmlu/": "routerdc/cmmlu/",
    "routerdc/ceval/": "routerdc/cmmlu/",
    "alpaca-eval/": "alpaca-eval/",
}


@pytest.mark.slow
def test_one_router_sends_each_kind_of_request_to_the_candidate_strongest_on_it(all_outcomes_file: Path) -> None:
    service = load_router(ROUTERS / "default")  # fast: the router's default
    assert service.mode == "fast"
    cards = {name: service.cards[name] for name in TEAM}
    assert all(card.is_partial for card in cards.values())
    table = read_outcomes(all_outcomes_file).drop_duplicates("query_id")
    test = table[split_of(table["query_id"], table["split"]) == "test"]
    shares, chosen = {}, set()
    for prefix, entries in KINDS.items():
        questions = test[test["query_id"].str.startswith(prefix)].sample(40, random_state=0)
        picks = pd.Series([TEAM[i] for i in service.score_instructions(questions["prompt"].tolist(), TEAM).argmax(1)])
        expected = strongest_by_card(cards, entries)
        shares[prefix] = (picks == expected).mean()
        assert shares[prefix] >= 0.65, (prefix, expected, picks.value_counts().to_dict())
        chosen.add(expected)
    assert np.mean(list(shares.values())) >= 0.85, shares
    assert len(chosen) == 5  # knowledge, math, code, Chinese and chat each go to a model of their own
