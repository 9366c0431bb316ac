"""Cost trade-offs in the proxy: `modelsat/<trade-off>` and the per-request `modelsat` body field."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_doubles import CHAT, CODE, MATH, FailingBackend, KeywordScorer, write_config

from modelsat.errors import ConfigError
from modelsat.serve.app import create_app
from modelsat.serve.backends import BackendUnavailable, EchoBackend

URL = "http://127.0.0.1:9/v1"
PRICES = {
    MATH: {"input": 10.0, "output": 30.0},
    CODE: {"input": 1.0, "output": 2.0},
    CHAT: {"input": 0.1, "output": 0.1},
}
# MATH 3 points, CODE 2, CHAT 0.5: quality-only routing picks MATH, the most expensive model
PROMPT = "Prove this integral equation with a python function"


class RecordingBackend(EchoBackend):
    """Echo backend that keeps every body it was sent."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bodies: list[Mapping[str, Any]] = []

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return await super().complete(body)


@pytest.fixture
def client_for(tmp_path: Path, scorer: KeywordScorer) -> Iterator:
    clients: list[TestClient] = []

    def make(backends: Mapping[str, Any] | None = None, **extra: Any) -> TestClient:
        fields = {name: {"base_url": URL, "price": price} for name, price in PRICES.items()}
        cfg = write_config(
            tmp_path, fields, tradeoffs={"cheap": {"lambda": 1e7}, "capped": {"max_cost": 0.001}}, **extra
        )
        app = create_app(cfg, scorer, backends or {name: RecordingBackend(name) for name in PRICES})
        client = TestClient(app).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def chat(model: str = "modelsat", **extra: Any) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": PROMPT}], **extra}


def test_quality_only_without_a_tradeoff(client_for) -> None:
    assert client_for().post("/v1/chat/completions", json=chat()).headers["x-modelsat-model"] == MATH


def test_named_tradeoff_with_a_huge_lambda_picks_the_cheapest(client_for) -> None:
    assert client_for().post("/v1/chat/completions", json=chat("modelsat/cheap")).headers["x-modelsat-model"] == CHAT


def test_body_field_sets_lambda_per_request(client_for) -> None:
    client = client_for()
    assert client.post("/v1/chat/completions", json=chat(modelsat={"lambda": 0})).headers["x-modelsat-model"] == MATH
    response = client.post("/v1/chat/completions", json=chat(modelsat={"lambda": 1e7}))
    assert response.headers["x-modelsat-model"] == CHAT


def test_max_cost_excludes_expensive_models_and_the_field_is_not_forwarded(client_for) -> None:
    backends = {name: RecordingBackend(name) for name in PRICES}
    response = client_for(backends).post("/v1/chat/completions", json=chat(modelsat={"max_cost": 0.001}))
    assert response.headers["x-modelsat-model"] == CODE  # MATH would cost ~$0.008
    assert "modelsat" not in backends[CODE].bodies[0]
    assert "x-modelsat-over-budget" not in response.headers


def test_fallbacks_never_exceed_max_cost(client_for) -> None:
    backends = {
        MATH: RecordingBackend(MATH),
        CODE: FailingBackend(BackendUnavailable("timeout")),
        CHAT: RecordingBackend(CHAT),
    }
    client = client_for(backends, fallbacks=2)
    response = client.post("/v1/chat/completions", json=chat("modelsat/capped"))
    assert response.headers["x-modelsat-model"] == CHAT
    assert response.headers["x-modelsat-fallback"] == f"{CODE}=timeout"
    assert backends[MATH].bodies == []


def test_nothing_under_max_cost_answers_with_the_cheapest_and_says_so(client_for) -> None:
    response = client_for().post("/v1/chat/completions", json=chat(modelsat={"max_cost": 1e-9}))
    assert response.headers["x-modelsat-model"] == CHAT
    assert "cheapest" in response.headers["x-modelsat-over-budget"]


def test_max_tokens_bounds_the_output_cost(client_for) -> None:
    # with 10 output tokens MATH costs (13 * 10 + 10 * 30) / 1e6 = $0.00043 and fits
    response = client_for().post("/v1/chat/completions", json=chat(modelsat={"max_cost": 0.001}, max_tokens=10))
    assert response.headers["x-modelsat-model"] == MATH


def test_route_endpoint_reports_costs(client_for) -> None:
    body = client_for().post("/v1/route", json={"prompt": PROMPT, "modelsat": {"max_cost": 0.001}}).json()
    assert body["model"] == CODE
    assert [r["model"] for r in body["ranking"]] == [CODE, CHAT]
    assert body["ranking"][0]["cost_usd"] == pytest.approx((13 * 1.0 + 256 * 2.0) / 1e6)
    assert body["tradeoff"] == {"lambda": 0.0, "max_cost": 0.001, "over_budget": False}


def test_bad_tradeoff_fields_are_400(client_for) -> None:
    response = client_for().post("/v1/chat/completions", json=chat(modelsat={"lambda": -1}))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "modelsat.lambda"


def test_models_lists_tradeoffs(client_for) -> None:
    ids = [m["id"] for m in client_for().get("/v1/models").json()["data"]]
    assert {"modelsat/cheap", "modelsat/capped"} <= set(ids)


def test_tradeoffs_need_prices_and_unique_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trade-offs need a price for every backend; none for mathstral-7B"):
        write_config(tmp_path, {MATH: URL}, tradeoffs={"cheap": {"lambda": 1.0}})
    fields = {MATH: {"base_url": URL, "price": PRICES[MATH]}}
    with pytest.raises(ConfigError, match="trade-off 'small' shadows the zoo or profile"):
        write_config(tmp_path, fields, tradeoffs={"small": {"lambda": 1.0}})
