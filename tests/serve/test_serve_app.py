"""The proxy under FastAPI's TestClient, with in-process echo and failing backends."""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_doubles import CHAT, CODE, MATH, FailingBackend, KeywordScorer, write_config

from modelsat.serve.app import create_app
from modelsat.serve.backends import Backend, BackendRejected, BackendUnavailable, EchoBackend

URLS = {MATH: "http://127.0.0.1:9/v1", CODE: "http://127.0.0.1:9/v1", CHAT: "http://127.0.0.1:9/v1"}


def echo_backends() -> dict[str, Backend]:
    return {name: EchoBackend(name + "-echo") for name in URLS}


@pytest.fixture
def client_for(tmp_path: Path, scorer: KeywordScorer) -> Iterator:
    """Build a TestClient for given backends / config extras / API keys."""
    clients: list[TestClient] = []

    def make(backends: Mapping[str, Backend] | None = None, api_keys: tuple[str, ...] = (), **extra) -> TestClient:
        cfg = write_config(tmp_path, URLS, **extra)
        app = create_app(cfg, scorer, backends or echo_backends(), api_keys=api_keys)
        client = TestClient(app).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def chat(content: str, model: str = "modelsat", **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def test_routes_to_the_best_model_and_names_it(client_for) -> None:
    response = client_for().post("/v1/chat/completions", json=chat("Prove this equation has no integral root"))
    assert response.status_code == 200
    assert response.headers["x-modelsat-model"] == MATH
    assert "x-modelsat-fallback" not in response.headers
    body = response.json()
    assert body["model"] == MATH
    assert body["choices"][0]["message"]["content"] == "Prove this equation has no integral root"


def test_routing_text_is_the_last_user_message(client_for) -> None:
    messages = [
        {"role": "system", "content": "You review python code."},
        {"role": "user", "content": "prove the integral equation"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "now fix this bug"}]},
    ]
    response = client_for().post("/v1/chat/completions", json={"model": "modelsat", "messages": messages})
    assert response.headers["x-modelsat-model"] == CODE
    assert response.headers["x-modelsat-routing-tokens"] == "4"  # "now fix this bug"
    assert response.json()["choices"][0]["message"]["content"] == "You review python code. now fix this bug"


def test_passes_through_when_a_backend_is_named(client_for, scorer: KeywordScorer) -> None:
    response = client_for().post("/v1/chat/completions", json=chat("python function", model=MATH))
    assert response.status_code == 200
    assert response.headers["x-modelsat-model"] == MATH
    assert "x-modelsat-routing-ms" not in response.headers
    assert scorer.calls == []


def test_profile_restricts_candidates(client_for) -> None:
    client = client_for(profiles={"no-code": [MATH, CHAT]})
    response = client.post("/v1/chat/completions", json=chat("python function bug", model="modelsat/no-code"))
    assert response.headers["x-modelsat-model"] == CHAT


def test_zoo_restricts_candidates(client_for) -> None:
    # small-5 holds mathstral-7B and Qwen1.5-7B-Chat but not DeepSeek-Coder-V2
    response = client_for().post("/v1/chat/completions", json=chat("python function bug", model="modelsat/small-5"))
    assert response.headers["x-modelsat-model"] == CHAT


def test_unknown_model_and_profile_are_404(client_for) -> None:
    client = client_for()
    response = client.post("/v1/chat/completions", json=chat("hi", model="gpt-5"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    response = client.post("/v1/chat/completions", json=chat("hi", model="modelsat/nope"))
    assert response.status_code == 404
    assert "unknown profile or zoo 'nope'" in response.json()["error"]["message"]


def test_streaming_relays_events_unchanged(client_for) -> None:
    with client_for().stream("POST", "/v1/chat/completions", json=chat("python bug", stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-modelsat-model"] == CODE
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["model"] for c in chunks} == {CODE + "-echo"}  # the backend's own stream, untouched
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "python bug"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_fallback_to_next_ranked_model(client_for) -> None:
    math = FailingBackend(BackendUnavailable("timeout"))
    client = client_for({**echo_backends(), MATH: math}, fallbacks=1)
    response = client.post("/v1/chat/completions", json=chat("prove the integral python"))
    assert response.status_code == 200
    assert math.calls == 1
    assert response.headers["x-modelsat-model"] == CODE  # ranked second: one code keyword + ... vs CHAT's 0.5
    assert response.headers["x-modelsat-fallback"] == f"{MATH}=timeout"


def test_streaming_falls_back_before_the_first_event(client_for) -> None:
    client = client_for({**echo_backends(), CODE: FailingBackend(BackendUnavailable("http-503"))}, fallbacks=2)
    with client.stream("POST", "/v1/chat/completions", json=chat("python bug", stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["x-modelsat-model"] == CHAT
        assert response.headers["x-modelsat-fallback"] == f"{CODE}=http-503"
        assert list(response.iter_lines())[-2] == "data: [DONE]"


def test_no_fallback_beyond_the_configured_count_gives_502(client_for) -> None:
    down = {name: FailingBackend(BackendUnavailable("unreachable")) for name in URLS}
    response = client_for(down, fallbacks=1).post("/v1/chat/completions", json=chat("prove the integral"))
    assert response.status_code == 502
    tried = f"{MATH}=unreachable, {CHAT}=unreachable"
    assert response.json() == {
        "error": {
            "message": f"no backend answered (tried {tried})",
            "type": "backend_error",
            "param": None,
            "code": "backends_unavailable",
        }
    }
    assert response.headers["x-modelsat-fallback"] == tried
    assert down[CODE].calls == 0


def test_backend_4xx_passes_through_without_fallback(client_for) -> None:
    refusal = {"error": {"message": "context too long", "type": "invalid_request_error", "code": None}}
    chat_backend = FailingBackend(BackendRejected(400, refusal))
    client = client_for({**echo_backends(), CHAT: chat_backend}, fallbacks=2)
    response = client.post("/v1/chat/completions", json=chat("hello"))
    assert response.status_code == 400
    assert response.json() == refusal
    assert response.headers["x-modelsat-model"] == CHAT


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (b"{not json", None, "invalid_json"),
        (b'{"model": "modelsat"}', "messages", "invalid_value"),
        (b'{"model": "modelsat", "messages": []}', "messages", "invalid_value"),
        (b'{"model": "modelsat", "messages": [{"content": "hi"}]}', "messages.0.role", "invalid_value"),
        (
            b'{"model": "modelsat", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
            "stream",
            "invalid_value",
        ),
        (b"[1, 2]", None, "invalid_value"),
    ],
)
def test_bad_requests_are_400_openai_style(client_for, body: bytes, param: str | None, code: str) -> None:
    response = client_for().post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code


def test_nothing_to_route_is_400(client_for) -> None:
    body = {"model": "modelsat", "messages": [{"role": "assistant", "content": "hi"}]}
    response = client_for().post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "nothing to route: the request has no user message or prompt text"


def test_oversized_body_is_413_before_reading(client_for) -> None:
    client = client_for(max_body_bytes=1000)
    response = client.post("/v1/chat/completions", json=chat("x" * 2000))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "message": "request body exceeds 1000 bytes",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }


def test_oversized_chunked_body_is_413(client_for) -> None:
    client = client_for(max_body_bytes=1000)
    response = client.post("/v1/chat/completions", content=iter([b"{" + b" " * 600, b" " * 600 + b"}"]))
    assert response.status_code == 413


def test_route_endpoint_ranks_without_completing(client_for) -> None:
    client = client_for()
    response = client.post("/v1/route", json={"prompt": "python function to prove an integral equation"})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == MATH
    assert [(r["model"], r["score"]) for r in body["ranking"]] == [(MATH, 3.0), (CODE, 2.0), (CHAT, 0.5)]
    assert body["routing_ms"] >= 0
    response = client.post("/v1/route", json={"messages": [{"role": "user", "content": "python"}]})
    assert response.json()["model"] == CODE


def test_route_needs_exactly_one_input(client_for) -> None:
    response = client_for().post("/v1/route", json={"prompt": "a", "messages": [{"role": "user", "content": "b"}]})
    assert response.status_code == 400
    assert "exactly one of 'messages' or 'prompt'" in response.json()["error"]["message"]


def test_models_lists_routed_names_and_backends(client_for) -> None:
    body = client_for(profiles={"cheap": [CHAT]}).get("/v1/models").json()
    ids = [m["id"] for m in body["data"]]
    routed = ["modelsat", "modelsat/cheap", "modelsat/small-5", "modelsat/small", "modelsat/mixed"]
    assert ids == [*routed, MATH, CODE, CHAT]


def test_api_keys_are_enforced(client_for) -> None:
    client = client_for(api_keys=("k-one", "k-two"))
    assert client.post("/v1/chat/completions", json=chat("hi")).status_code == 401
    wrong = client.post("/v1/chat/completions", json=chat("hi"), headers={"authorization": "Bearer k-three"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert wrong.headers["www-authenticate"] == "Bearer"
    ok = client.post("/v1/chat/completions", json=chat("hi"), headers={"authorization": "Bearer k-two"})
    assert ok.status_code == 200
    assert client.get("/v1/models").status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").json() == {"status": "ok", "models": 3, "generation": 0}


def test_metrics_count_requests_routes_and_errors(client_for) -> None:
    client = client_for({**echo_backends(), MATH: FailingBackend(BackendUnavailable("timeout"))})
    client.post("/v1/chat/completions", json=chat("prove the integral"))
    client.post("/v1/chat/completions", json=chat("python bug"))
    client.post("/v1/chat/completions", content=b"{", headers={"content-type": "application/json"})
    text = client.get("/metrics").text
    assert 'modelsat_requests_total{endpoint="/v1/chat/completions",status="200"} 2.0' in text
    assert 'modelsat_requests_total{endpoint="/v1/chat/completions",status="400"} 1.0' in text
    assert f'modelsat_routed_total{{model="{CHAT}"}} 1.0' in text
    assert f'modelsat_routed_total{{model="{CODE}"}} 1.0' in text
    assert f'modelsat_backend_errors_total{{model="{MATH}",reason="timeout"}} 1.0' in text
    assert "modelsat_fallbacks_total 1.0" in text
    assert "modelsat_routing_seconds_count 2.0" in text


def test_router_failure_is_500_openai_style(client_for, scorer: KeywordScorer) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("card cache corrupted")

    scorer.score_instructions = broken  # type: ignore[method-assign]
    response = client_for().post("/v1/chat/completions", json=chat("hi"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "routing_failed"
    assert "card cache corrupted" in response.json()["error"]["message"]


def test_backends_must_match_config(tmp_path: Path, scorer: KeywordScorer) -> None:
    cfg = write_config(tmp_path, URLS)
    with pytest.raises(ValueError, match="do not match"):
        create_app(cfg, scorer, {MATH: EchoBackend()})
