"""The proxy over real HTTP on loopback, driven by the official `openai` client: SmolLM2 and echo backends,
backends that are down, slow or broken, authentication, body limits and metrics."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, free_port, misbehaving_app, run_http, write_config

from modelsat.serve.app import create_app
from modelsat.serve.auth import api_keys_from_env
from modelsat.serve.backends import build_backends

MAX_TOKENS = 4
MATH_PROMPT = [{"role": "user", "content": "Prove that the integral of 2x is x^2. Answer briefly."}]

ProxyFactory = Callable[..., AbstractContextManager[str]]


@pytest.fixture
def proxy(tmp_path: Path, scorer: KeywordScorer) -> ProxyFactory:
    """Start the proxy over real HTTP: `with proxy({model: url-or-fields}, **config) as base_url`."""

    @contextmanager
    def start(backends: dict[str, Any], api_keys: tuple[str, ...] = (), **extra: Any) -> Iterator[str]:
        cfg = write_config(tmp_path, backends, **extra)
        app = create_app(cfg, scorer, build_backends(cfg, {}), api_keys=api_keys)
        with run_http(app) as url:
            yield url

    return start


def client(base_url: str, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def greedy_reference(smollm2_url: str) -> str:
    """SmolLM2's greedy answer to MATH_PROMPT, asked directly (not through the proxy)."""
    direct = client(smollm2_url.removesuffix("/v1")).chat.completions.create(
        model="smollm2", messages=MATH_PROMPT, max_tokens=MAX_TOKENS, temperature=0
    )
    assert direct.model == "smollm2"
    return direct.choices[0].message.content


def smollm2_everywhere(smollm2_url: str) -> dict[str, Any]:
    backend = {"base_url": smollm2_url, "model": "smollm2", "timeout_s": 60}
    return {MATH: backend, CODE: backend, CHAT: backend}


def test_plain_completion_answered_by_smollm2(proxy: ProxyFactory, smollm2_url: str, greedy_reference: str) -> None:
    with proxy(smollm2_everywhere(smollm2_url)) as url:
        raw = client(url).chat.completions.with_raw_response.create(
            model="modelsat", messages=MATH_PROMPT, max_tokens=MAX_TOKENS, temperature=0
        )
    reply = raw.parse()
    assert raw.headers["x-modelsat-model"] == MATH
    assert float(raw.headers["x-modelsat-routing-ms"]) >= 0
    assert reply.model == MATH
    assert reply.usage.completion_tokens == MAX_TOKENS
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == greedy_reference  # greedy decoding: the same text
    assert reply.choices[0].message.content.strip()


def test_streamed_completion_relays_smollm2_events(
    proxy: ProxyFactory, smollm2_url: str, greedy_reference: str
) -> None:
    kwargs = {"model": "modelsat", "messages": MATH_PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0}
    with proxy(smollm2_everywhere(smollm2_url)) as url:
        api = client(url).chat.completions.with_streaming_response
        with api.create(stream=True, **kwargs) as raw:
            assert raw.headers["x-modelsat-model"] == MATH
            chunks = list(raw.parse())
    assert {c.model for c in chunks} == {"smollm2"}  # the backend's events, unchanged
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == greedy_reference
    assert chunks[-1].choices[0].finish_reason == "length"


def test_route_endpoint_over_http(proxy: ProxyFactory, echo_url: str) -> None:
    with proxy({MATH: echo_url, CODE: echo_url, CHAT: echo_url}) as url:
        response = httpx.post(url + "/v1/route", json={"prompt": "write a python function"})
    assert response.status_code == 200
    assert response.json()["model"] == CODE
    assert [r["model"] for r in response.json()["ranking"]] == [CODE, CHAT, MATH]


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (None, "unreachable"),  # nothing listens on the port
        (misbehaving_app(delay_s=1.5), "timeout"),
        (misbehaving_app(status=500), "http-500"),
        (misbehaving_app(garbage=True), "invalid-response"),
    ],
    ids=["down", "slow", "500", "garbage"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_failed_backend_falls_back_to_next_ranked(
    proxy: ProxyFactory, echo_url: str, broken: Any, reason: str, stream: bool
) -> None:
    bad_server = nullcontext(f"http://127.0.0.1:{free_port()}") if broken is None else run_http(broken)
    with bad_server as bad_url:
        bad = {"base_url": bad_url + "/v1", "timeout_s": 0.5}
        with proxy({MATH: bad, CODE: echo_url, CHAT: echo_url}) as url:
            api = client(url).chat.completions
            messages = [{"role": "user", "content": "prove the integral bound"}]
            if stream:
                with api.with_streaming_response.create(model="modelsat", messages=messages, stream=True) as raw:
                    headers = raw.headers
                    text = "".join(c.choices[0].delta.content or "" for c in raw.parse())
            else:
                raw = api.with_raw_response.create(model="modelsat", messages=messages)
                headers, text = raw.headers, raw.parse().choices[0].message.content
    assert headers["x-modelsat-fallback"] == f"{MATH}={reason}"
    assert headers["x-modelsat-model"] == CHAT
    assert text == "prove the integral bound"


def test_all_backends_down_is_502(proxy: ProxyFactory) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    down = proxy({MATH: dead, CODE: dead, CHAT: dead}, fallbacks=2)
    with down as url, pytest.raises(openai.APIStatusError) as caught:
        client(url).chat.completions.create(model="modelsat", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    tried = f"{CHAT}=unreachable, {MATH}=unreachable, {CODE}=unreachable"
    assert caught.value.body == {
        "message": f"no backend answered (tried {tried})",
        "type": "backend_error",
        "param": None,
        "code": "backends_unavailable",
    }


def test_api_keys_from_env(proxy: ProxyFactory, echo_url: str) -> None:
    keys = api_keys_from_env({"MODELSAT_API_KEYS": "alpha-key, beta-key"})
    with proxy({MATH: echo_url, CODE: echo_url, CHAT: echo_url}, api_keys=keys) as url:
        with pytest.raises(openai.AuthenticationError) as caught:
            client(url, api_key="wrong").models.list()
        assert caught.value.status_code == 401
        assert httpx.post(url + "/v1/route", json={"prompt": "x"}).status_code == 401
        models = client(url, api_key="beta-key").models.list()
        assert [m.id for m in models.data][0] == "modelsat"
        reply = client(url, api_key="alpha-key").chat.completions.create(
            model="modelsat", messages=[{"role": "user", "content": "hello there"}]
        )
        assert reply.choices[0].message.content == "hello there"


def test_malformed_json_and_huge_body(proxy: ProxyFactory, echo_url: str) -> None:
    with proxy({MATH: echo_url, CODE: echo_url, CHAT: echo_url}) as url:
        bad = httpx.post(url + "/v1/chat/completions", content=b'{"model": "modelsat",', timeout=10)
        huge = httpx.post(url + "/v1/chat/completions", content=b"x" * 10_000_000, timeout=30)
        still_up = httpx.get(url + "/healthz")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"
    assert huge.status_code == 413
    assert huge.json()["error"]["message"] == "request body exceeds 1048576 bytes"
    assert still_up.status_code == 200


def test_metrics_change_with_traffic(proxy: ProxyFactory, echo_url: str) -> None:
    def value(text: str, line_start: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(line_start + " ")]
        return float(lines[0].split()[-1]) if lines else 0.0

    routed = f'modelsat_routed_total{{model="{CODE}"}}'
    ok = 'modelsat_requests_total{endpoint="/v1/chat/completions",status="200"}'
    with proxy({MATH: echo_url, CODE: echo_url, CHAT: echo_url}) as url:
        before = httpx.get(url + "/metrics").text
        for _ in range(3):
            client(url).chat.completions.create(model="modelsat", messages=[{"role": "user", "content": "python bug"}])
        after = httpx.get(url + "/metrics").text
    assert value(after, routed) - value(before, routed) == 3
    assert value(after, ok) - value(before, ok) == 3
    assert value(after, f'modelsat_backend_seconds_count{{model="{CODE}"}}') == 3
