"""The proxy with the example config's router (`routers/default`) and cards, echo backends."""

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelsat.serve.app import create_app
from modelsat.serve.backends import EchoBackend
from modelsat.serve.config import load_serve_config
from modelsat.serve.routing import load_scorer
from modelsat.types import InstructionScorer

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.skipif(not (ROOT / "routers" / "default").is_dir(), reason="routers/default not trained yet")


def test_real_router_routes_through_the_proxy() -> None:
    cfg = load_serve_config(ROOT / "configs" / "serve.example.yaml")
    scorer = load_scorer(cfg)
    assert isinstance(scorer, InstructionScorer)
    backends = {name: EchoBackend(name) for name in cfg.backends}
    with TestClient(create_app(cfg, scorer, backends)) as client:
        ranked = client.post("/v1/route", json={"prompt": "Solve for x: 3x + 7 = 22. Show the algebra."})
        assert ranked.status_code == 200
        ranking = ranked.json()["ranking"]
        assert sorted(r["model"] for r in ranking) == sorted(cfg.backends)
        assert all(math.isfinite(r["score"]) for r in ranking)
        assert [r["score"] for r in ranking] == sorted((r["score"] for r in ranking), reverse=True)
        question = {"role": "user", "content": "Solve for x: 3x + 7 = 22. Show the algebra."}
        reply = client.post("/v1/chat/completions", json={"model": "modelsat", "messages": [question]})
    assert reply.status_code == 200
    assert reply.headers["x-modelsat-model"] == ranked.json()["model"]
    assert reply.json()["choices"][0]["message"]["content"] == question["content"]


def test_real_router_reads_the_question_behind_a_long_system_prompt() -> None:
    cfg = load_serve_config(ROOT / "configs" / "serve.example.yaml")
    backends = {name: EchoBackend(name) for name in cfg.backends}
    question = "Which of these is a rhetorical device used in Shakespeare's sonnets: metaphor, integral or enzyme?"
    system = "You are a coding assistant for a python shop. Review the diff, name every bug, propose a fix. " * 80
    with TestClient(create_app(cfg, load_scorer(cfg), backends)) as client:
        alone = client.post("/v1/route", json={"prompt": question}).json()
        chat = [{"role": "system", "content": system}, {"role": "user", "content": question}]
        wrapped = client.post("/v1/route", json={"messages": chat}).json()
    assert wrapped["routing_text"] == alone["routing_text"] == question
    assert wrapped["ranking"] == alone["ranking"]


def test_real_router_serves_fast_and_loads_full_when_a_request_asks() -> None:
    from modelsat.router.routing.service import load_router

    cfg = load_serve_config(ROOT / "configs" / "serve.example.yaml")
    assert cfg.mode == "fast"
    scorer = load_scorer(cfg)
    backends = {name: EchoBackend(name) for name in cfg.backends}
    prompt = "Solve for x: 3x + 7 = 22. Show the algebra."
    with TestClient(create_app(cfg, scorer, backends)) as client:
        fast = client.post("/v1/route", json={"prompt": prompt}).json()
        assert sorted(scorer._modes) == ["fast"], "the capability LLM is not loaded until a request asks for it"
        full = client.post("/v1/route", json={"prompt": prompt, "modelsat": {"mode": "full"}}).json()
    assert (fast["mode"], full["mode"]) == ("fast", "full")
    models = list(cfg.backends)
    expected = load_router(cfg.router, cfg.cards, mode="full").score_instructions([prompt], models)[0]
    assert {r["model"]: r["score"] for r in full["ranking"]} == pytest.approx(dict(zip(models, expected, strict=True)))
