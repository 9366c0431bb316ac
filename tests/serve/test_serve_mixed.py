"""One proxy for mixed traffic: `configs/serve.example.yaml` serves the one router (`routers/default`) in front of seven
models from three zoos, each tested in its own zoo only; the README's five requests (`make demo`'s mixed traffic)
each go to the candidate whose card is strongest on that kind of request."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards
from modelsat.demo import MIXED_KINDS, TEAM, mixed_questions, strongest_by_card
from modelsat.serve.app import create_app
from modelsat.serve.backends import EchoBackend
from modelsat.serve.config import load_serve_config
from modelsat.serve.routing import load_scorer

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_one_proxy_sends_each_kind_of_request_to_the_model_strongest_on_it(all_outcomes_file: Path) -> None:
    cfg = load_serve_config(ROOT / "configs" / "serve.example.yaml")
    assert cfg.router.resolve() == (ROOT / "routers" / "default").resolve() and cfg.mode == "fast"
    assert list(cfg.backends) == TEAM.split(",")
    tables = dict.fromkeys(("mmlu", "specialists", "chat"), all_outcomes_file)
    questions = mixed_questions(tables, AptitudeSet.load(cfg.router / "aptitude.json").query_ids)
    assert list(questions) == list(MIXED_KINDS)
    cards = load_cards(cfg.cards)
    team = {name: cards[name] for name in cfg.backends}
    backends = {name: EchoBackend(name) for name in cfg.backends}
    routed, expected = {}, {}
    with TestClient(create_app(cfg, load_scorer(cfg), backends)) as client:
        for kind, prompt in questions.items():
            message = {"role": "user", "content": prompt}
            reply = client.post("/v1/chat/completions", json={"model": "modelsat", "messages": [message]})
            assert reply.status_code == 200, reply.text
            routed[kind] = reply.headers["x-modelsat-model"]
            expected[kind] = strongest_by_card(team, MIXED_KINDS[kind][1])
    assert routed == expected
    assert len(set(expected.values())) == 5  # five kinds, five different strongest models
