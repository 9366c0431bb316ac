"""Backend cool-downs: a failing or hanging backend is skipped for a while, then a probe lets it back in."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, Switch, controllable_app, run_http, serve_proxy

from modelsat.serve.config import Cooldown
from modelsat.serve.health import HealthBoard

MATH_QUESTION = {"model": "modelsat", "messages": [{"role": "user", "content": "prove the integral bound"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_start_a_cool_down_and_a_probe_ends_it() -> None:
    clock = Clock()
    board = HealthBoard(Cooldown(failures=3, window_s=10, cooldown_s=5), clock=clock)
    board.sync(["a", "b"])
    board.failed("a", "timeout")
    clock.now += 11  # the first failure leaves the window
    board.failed("a", "timeout")
    board.failed("a", "http-500")
    assert board.available("a")
    board.failed("a", "timeout")
    assert not board.available("a") and board.available("b")
    assert board.snapshot()["a"] | {"cooldown_left_s": 5.0} == board.snapshot()["a"]
    assert board.retry_after(["a"]) == 5
    board.failed("a", "timeout")  # a request that was in flight: the cool-down is not extended
    clock.now += 4.9
    assert board.due_probes() == []
    clock.now += 0.2
    assert board.due_probes() == ["a"]
    assert not board.available("a") and board.due_probes() == []  # one probe at a time
    board.probed("a", ok=False, reason="timeout")
    assert board.snapshot()["a"]["state"] == "cooling" and board.snapshot()["a"]["cooldowns"] == 2
    clock.now += 5
    assert board.due_probes() == ["a"]
    board.probed("a", ok=True)
    assert board.available("a") and board.snapshot()["a"]["recent_failures"] == 0


@pytest.fixture
def hanging(tmp_path: Path, scorer: KeywordScorer) -> Iterator[tuple[httpx.Client, Switch, object]]:
    """MATH's backend hangs (1.5 s, timeout_s 0.5) until the test says otherwise; CHAT is a healthy fallback."""
    switch, healthy = Switch(), Switch()
    switch.delay_s = 1.5
    cooldown = {"failures": 2, "window_s": 30, "cooldown_s": 1.0, "probe_timeout_s": 0.5}
    with run_http(controllable_app(switch, "math")) as bad, run_http(controllable_app(healthy, "chat")) as good:
        backends = {
            MATH: {"base_url": bad + "/v1", "timeout_s": 0.5},
            CODE: {"base_url": good + "/v1"},
            CHAT: {"base_url": good + "/v1"},
        }
        proxy = serve_proxy(tmp_path, scorer, backends, cooldown=cooldown)
        with proxy as (url, app), httpx.Client(base_url=url, timeout=30) as client:
            yield client, switch, app


def test_a_hanging_backend_is_skipped_after_its_failures_and_a_probe_brings_it_back(hanging) -> None:
    client, switch, app = hanging
    for _ in range(2):  # the first two requests pay timeout_s, then fall back
        reply = client.post("/v1/chat/completions", json=MATH_QUESTION)
        assert reply.status_code == 200 and reply.headers["x-modelsat-fallback"] == f"{MATH}=timeout"
    states = {b["id"]: b for b in client.get("/v1/backends").json()["data"]}
    assert states[MATH]["state"] == "cooling" and states[MATH]["last_error"] == "timeout"
    assert states[CHAT]["state"] == "up"
    models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert models[MATH]["status"] == "cooling"
    start = time.perf_counter()
    reply = client.post("/v1/chat/completions", json=MATH_QUESTION)
    assert time.perf_counter() - start < 0.4  # no timeout paid: the cooled-down backend is not tried
    assert reply.headers["x-modelsat-model"] == CHAT
    assert reply.headers["x-modelsat-skipped"] == f"{MATH}=cooling-down"
    assert "x-modelsat-fallback" not in reply.headers
    metrics = client.get("/metrics").text
    assert f'modelsat_backend_up{{model="{MATH}"}} 0.0' in metrics
    assert f'modelsat_backend_cooldowns_total{{model="{MATH}"}} 1.0' in metrics

    calls = switch.calls
    time.sleep(1.6)  # cool-down over: a probe (not a user's request) finds it still hanging
    assert switch.calls > calls
    assert client.get("/v1/backends").json()["data"][0]["state"] in ("probing", "cooling")
    switch.delay_s = 0.0  # the backend recovers
    deadline = time.monotonic() + 10
    while client.get("/v1/backends").json()["data"][0]["state"] != "up":
        assert time.monotonic() < deadline, "the probe never brought the backend back"
        time.sleep(0.1)
    reply = client.post("/v1/chat/completions", json=MATH_QUESTION)
    assert reply.headers["x-modelsat-model"] == MATH
    assert f'modelsat_backend_up{{model="{MATH}"}} 1.0' in client.get("/metrics").text


def test_only_cooling_candidates_is_a_fast_502_with_retry_after(hanging) -> None:
    client, _, _ = hanging
    only_math = {**MATH_QUESTION, "model": MATH}  # a backend named directly: no other candidate
    for _ in range(2):
        assert client.post("/v1/chat/completions", json=only_math).status_code == 502
    start = time.perf_counter()
    reply = client.post("/v1/chat/completions", json=only_math)
    assert time.perf_counter() - start < 0.4
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "backends_unavailable"
    assert reply.json()["error"]["message"] == f"no backend answered (tried {MATH}=cooling-down)"
    assert reply.headers["retry-after"] == "1"
