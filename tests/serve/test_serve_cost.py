"""Cost trade-offs in the proxy: `modelsat/<trade-off>` and the per-request `modelsat` body field."""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
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
        tradeoffs = {"cheap": {"lambda": 1e7}, "capped": {"max_cost": 0.001}, **extra.pop("tradeoffs", {})}
        cfg = write_config(tmp_path, fields, tradeoffs=tradeoffs, **extra)
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


@pytest.fixture
def calibrated_router(tmp_path: Path):
    """A targets calibration for the three served models in the config's router folder (fast-mode-free scorer:
    the full-mode file), from 300 seeded validation outcomes."""
    from modelsat.cost.targets import TARGETS_FILE, fit_curve

    rng = np.random.default_rng(0)
    utility = rng.uniform(size=(300, 3)) * [0.9, 0.7, 0.5]
    outcomes = (rng.uniform(size=utility.shape) < utility).astype(float)
    cost = np.tile([0.0078, 0.0005, 0.00003], (300, 1))
    curve = fit_curve(utility, cost, outcomes, list(PRICES))
    (tmp_path / "router").mkdir()
    curve.save(tmp_path / "router" / TARGETS_FILE)
    return curve


def test_a_named_target_routes_at_its_calibrated_lambda(client_for, calibrated_router) -> None:
    from modelsat.cost.targets import Target

    client = client_for(tradeoffs={"q90": {"quality": 0.9}})
    body = client.post("/v1/route", json={"model": "modelsat/q90", "prompt": PROMPT}).json()
    expected = calibrated_router.resolve(Target(quality=0.9))
    assert 0 < expected.lam < float("inf") and expected.reachable and 0 < expected.share_alt < 0.5
    lam = body["tradeoff"]["lambda"]
    assert lam == expected.lam_for(PROMPT) and lam in (expected.lam, expected.lam_alt)
    assert body["tradeoff"]["target"]["expected_accuracy"] == expected.expected_accuracy
    assert body["tradeoff"]["target"]["promise"].startswith("accuracy ≥ ")
    net = {r["model"]: 1 / (1 + np.exp(-r["score"])) - lam * r["cost_usd"] for r in body["ranking"]}
    assert [r["model"] for r in body["ranking"]] == sorted(net, key=lambda m: -net[m])
    # each request's text draws one of the two λ, in about the calibrated shares
    prompts = [f"{PROMPT} {i}" for i in range(60)]
    drawn = [client.post("/v1/route", json={"model": "modelsat/q90", "prompt": p}).json() for p in prompts]
    assert [d["tradeoff"]["lambda"] for d in drawn] == [expected.lam_for(p) for p in prompts]
    assert {d["tradeoff"]["lambda"] for d in drawn} == {expected.lam, expected.lam_alt}
    # a request's own target replaces the named one
    own = client.post("/v1/route", json={"model": "modelsat/q90", "prompt": PROMPT, "modelsat": {"budget": 0.05}})
    assert own.json()["tradeoff"]["lambda"] == calibrated_router.resolve(Target(budget=0.05)).lam_for(PROMPT)
    assert own.json()["tradeoff"]["target"]["target"] == "budget=0.05"
    answered = client.post("/v1/chat/completions", json=chat("modelsat/q90"))
    assert answered.status_code == 200 and answered.headers["x-modelsat-model"] == body["model"]
    rows = {row["name"]: row for row in client.get("/dashboard/data").json()["targets"]}
    assert rows["quality=0.9"]["tradeoffs"] == ["modelsat/q90"] and rows["quality=0.9"]["lambda"] == expected.lam
    assert {"quality=0.95", "quality=0.99", "budget=0.2", "budget=0.5"} <= set(rows)


def test_a_target_without_a_calibration_is_a_400_naming_the_file(client_for, tmp_path: Path) -> None:
    response = client_for().post("/v1/route", json={"prompt": PROMPT, "modelsat": {"quality": 0.95}})
    assert response.status_code == 400
    assert "router/targets.json (`modelsat calibrate --targets`)" in response.json()["error"]["message"]
    assert client_for().get("/dashboard/data").json()["targets"] == []


def test_targets_in_the_config_are_checked_at_start_up(tmp_path: Path, calibrated_router) -> None:
    from modelsat.serve.routing import check_targets

    fields = {name: {"base_url": URL, "price": price} for name, price in PRICES.items()}
    with pytest.raises(ConfigError, match="give lambda or the target quality, not both"):
        write_config(tmp_path, fields, tradeoffs={"q": {"quality": 0.9, "lambda": 5}})
    with pytest.raises(ConfigError, match="give one target of quality, budget, strong_share, not quality and budget"):
        write_config(tmp_path, fields, tradeoffs={"q": {"quality": 0.9, "budget": 0.5}})
    pair = write_config(tmp_path, fields, tradeoffs={"half": {"strong_share": 0.5}})
    with pytest.raises(ConfigError, match="trade-off\\(s\\) half: strong_share needs a zoo of one strong and one weak"):
        check_targets(pair, "full")
    with pytest.raises(ConfigError, match="targets-fast.json: no targets calibration"):
        check_targets(write_config(tmp_path, fields, tradeoffs={"q": {"quality": 0.9}}), "fast")
