"""Two proxies on one real `redis-server` (serve.yaml `state: redis://...`): a key's limit and budget, cool-downs,
usage and reloads are shared; with Redis stopped every request is still answered, and sharing resumes when it is
back. Each test fails on per-process state (two replicas would admit a key twice its limit, and so on)."""

import hashlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, Switch, controllable_app, free_port, run_http, write_config
from test_serve_reload import POET, keyword_loader

from modelsat.errors import ConfigError
from modelsat.serve.app import create_app
from modelsat.serve.backends import build_backends
from modelsat.serve.cluster import RedisServer
from modelsat.serve.config import load_serve_config
from modelsat.serve.keys import KeyRing

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (apt-get install)")

LIMITED, BUDGETED, ADMIN = "sk-limited-0123", "sk-budgeted-4567", "sk-admin-89ab"
PRICE = {"input": 100.0, "output": 100.0}  # USD per 1M tokens: a 5-word echo (1 + 5 tokens) costs 0.0006 USD


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


KEYS = {
    "keys": [
        {"name": "limited", "key_sha256": digest(LIMITED), "rpm": 5},
        {"name": "budgeted", "key": BUDGETED, "budget_usd": 0.0025, "budget_period": "day"},
        {"name": "ops", "key": ADMIN, "admin": True},
    ]
}


def auth(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def ask(url: str, secret: str, text: str = "one two three four five", model: str = "modelsat") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=auth(secret), timeout=30)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds until `check()` held."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(free_port(), tmp_path) as server:
        yield server


@contextmanager
def replicas(tmp_path: Path, backend: str, state: str, n: int = 2, **extra: Any) -> Iterator[list[str]]:
    """`n` proxies over real HTTP reading one serve.yaml (and keys.yaml) in `tmp_path`; yields their URLs."""
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump(KEYS))
    backends = {m: {"base_url": backend, "price": PRICE} for m in (MATH, CODE, CHAT)}
    cfg = write_config(tmp_path, backends, keys="keys.yaml", state=state, **extra)
    with ExitStack() as stack:
        urls = []
        for _ in range(n):
            app = create_app(
                cfg,
                KeywordScorer({m: KeywordScorer().keywords[m] for m in cfg.backends}),
                build_backends(cfg, {}),
                keys=KeyRing.load(cfg.keys, {}),
                config_path=tmp_path / "serve.yaml",
                scorer_loader=keyword_loader,
            )
            urls.append(stack.enter_context(run_http(app)))
        yield urls


@pytest.fixture
def echo(tmp_path: Path) -> Iterator[tuple[str, Switch]]:
    switch = Switch()
    with run_http(controllable_app(switch, "echo")) as url:
        yield url + "/v1", switch


def backends_of(url: str) -> dict[str, Any]:
    return httpx.get(url + "/v1/backends", headers=auth(ADMIN), timeout=10).json()


def metric(url: str, name: str) -> str:
    lines = httpx.get(url + "/metrics", headers=auth(ADMIN), timeout=10).text.splitlines()
    return next(line.split()[-1] for line in lines if line.startswith(name + " "))


def test_two_replicas_share_a_keys_limit_exactly(tmp_path: Path, echo, redis_server: RedisServer) -> None:
    with replicas(tmp_path, echo[0], redis_server.url) as (a, b), ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: ask((a, b)[i % 2], LIMITED).status_code, range(16)))
        assert sorted(codes) == [200] * 5 + [429] * 11  # per-process windows would admit 10
        refused = ask(b, LIMITED)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert 55 <= int(refused.headers["retry-after"]) <= 60


def test_a_cool_down_started_by_one_replica_is_seen_by_the_other(
    tmp_path: Path, echo, redis_server: RedisServer
) -> None:
    url, switch = echo
    rule = {"failures": 2, "window_s": 30, "cooldown_s": 1.5, "probe_timeout_s": 2}
    with replicas(tmp_path, url, redis_server.url, cooldown=rule) as (a, b):
        switch.status = 500
        for _ in range(2):
            assert ask(a, ADMIN, model=MATH).status_code == 502
        assert backends_of(a)["data"][0]["state"] == "cooling"
        wait_until(lambda: backends_of(b)["data"][0]["state"] == "cooling", 1.0, "the other replica to cool down")
        calls = switch.calls
        skipped = ask(b, ADMIN, model=MATH)
        assert skipped.status_code == 502 and "mathstral-7B=cooling-down" in skipped.headers["x-modelsat-fallback"]
        assert switch.calls == calls  # the other replica never sent it a request
        assert backends_of(b)["data"][0]["last_error"] == "http-500"
        switch.status = 200  # back: a probe (from either replica) lets it in on both
        wait_until(lambda: all(backends_of(u)["data"][0]["state"] == "up" for u in (a, b)), 10, "both up again")
        assert ask(b, ADMIN, model=MATH).status_code == 200


def test_failures_seen_by_two_replicas_together_start_a_cool_down_on_both(
    tmp_path: Path, echo, redis_server: RedisServer
) -> None:
    url, switch = echo
    rule = {"failures": 2, "window_s": 30, "cooldown_s": 30, "probe_timeout_s": 2}
    with replicas(tmp_path, url, redis_server.url, cooldown=rule) as (a, b):
        switch.status = 500
        assert ask(a, ADMIN, model=MATH).status_code == 502
        wait_until(lambda: backends_of(b)["data"][0]["recent_failures"] == 1, 1.0, "b to count a's failure")
        assert ask(b, ADMIN, model=MATH).status_code == 502  # one failure each: two in all
        for replica in (a, b):
            wait_until(lambda r=replica: backends_of(r)["data"][0]["state"] == "cooling", 1.0, "both to cool down")


def test_a_reload_on_one_replica_reaches_the_other(tmp_path: Path, echo, redis_server: RedisServer) -> None:
    url, _ = echo
    with replicas(tmp_path, url, redis_server.url) as (a, b):
        assert ask(b, ADMIN, "write a sonnet").headers["x-modelsat-model"] == CHAT
        path = tmp_path / "serve.yaml"
        raw = yaml.safe_load(path.read_text())
        raw["backends"][POET] = {"base_url": url, "model": "echo", "timeout_s": 5}
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        reply = httpx.post(a + "/admin/reload", headers=auth(ADMIN), timeout=30).json()
        assert reply["added"] == [POET] and reply["config_version"] == 1
        wait_until(lambda: backends_of(b)["config_version"] == 1, 2.0, "the other replica to reload")
        assert [m["id"] for m in backends_of(b)["data"]] == [MATH, CODE, CHAT, POET]
        assert backends_of(b)["generation"] == 1
        assert ask(b, ADMIN, "write a sonnet").headers["x-modelsat-model"] == POET


def test_a_budget_spent_through_one_replica_is_refused_by_the_other(
    tmp_path: Path, echo, redis_server: RedisServer
) -> None:
    with replicas(tmp_path, echo[0], redis_server.url) as (a, b):
        for _ in range(5):  # 0.0006 USD each: the 5th starts at 0.0024, under the budget, and ends it at 0.003
            assert ask(a, BUDGETED).status_code == 200

        def spent() -> float:
            return httpx.get(b + "/v1/usage", headers=auth(ADMIN), timeout=10).json()["keys"]["budgeted"]["day"]

        wait_until(lambda: spent()["requests"] == 5, 2.0, "the other replica to see the usage")
        refused = ask(b, BUDGETED)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "budget_exceeded" and error["type"] == "insufficient_quota"
        assert (
            "key 'budgeted' has spent its budget of 0.0025 USD per day (0.003 USD spent); it renews" in error["message"]
        )
        assert 0 < int(refused.headers["retry-after"]) <= 86400
        usage = httpx.get(b + "/v1/usage", headers=auth(ADMIN), timeout=10).json()
        assert usage["shared"] is True
        assert usage["keys"]["budgeted"]["day"] == {
            "requests": 5,
            "prompt_tokens": 5,
            "completion_tokens": 25,
            "cost_usd": 0.003,
        }
        assert usage["models"][CHAT]["total"]["requests"] == 5
        assert ask(a, BUDGETED).status_code == 429


def test_with_redis_stopped_every_request_is_answered_and_sharing_resumes(
    tmp_path: Path, echo, redis_server: RedisServer, caplog
) -> None:
    with replicas(tmp_path, echo[0], redis_server.url) as (a, b):
        assert ask(a, LIMITED).status_code == 200
        with caplog.at_level(logging.WARNING, logger="modelsat.serve.state.redis_store"):
            redis_server.kill()
            answers = [ask(u, secret).status_code for u in (a, b) for secret in (LIMITED, ADMIN, LIMITED)]
            answers += [ask(u, ADMIN, model=MATH).status_code for u in (a, b)]
        assert answers == [200] * 8  # each replica's own window: 2 of "limited" each, 4 in all (above 5 - 1)
        assert metric(a, "modelsat_state_shared") == "0.0" and metric(b, "modelsat_state_shared") == "0.0"
        outage_lines = [r for r in caplog.records if "is unreachable" in r.message]
        assert len(outage_lines) == 2  # one line per replica per outage, however many requests
        assert metric(a, "modelsat_state_outages_total") == "1.0"

        redis_server.start()  # empty: the shared window starts again
        back = wait_until(lambda: metric(a, "modelsat_state_shared") == "1.0", 5, "replica a to use Redis again")
        wait_until(lambda: metric(b, "modelsat_state_shared") == "1.0", 5, "replica b to use Redis again")
        assert back <= 5
        codes = [ask((a, b)[i % 2], LIMITED).status_code for i in range(8)]
        assert sorted(codes) == [200] * 5 + [429] * 3


def test_a_replica_that_cannot_reach_redis_at_start_up_names_the_field(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {MATH: "http://127.0.0.1:9/v1"}, state=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match=r"^state: cannot reach Redis at 127\.0\.0\.1:\d+/0"):
        create_app(cfg, KeywordScorer({MATH: ()}), build_backends(cfg, {}))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("redis:/127.0.0.1:6379", "expected redis://HOST:PORT/DB with a host name"),
        ("http://127.0.0.1:6379/0", "expected 'memory' or redis://HOST:PORT/DB"),
        ("redis://127.0.0.1:port/0", "the port is not a number"),
        ("redis://127.0.0.1:6379/zero", "the database after the last '/' must be a number"),
        ("memroy", "expected 'memory' or redis://HOST:PORT/DB, got 'memroy'"),
    ],
)
def test_a_wrong_state_url_is_a_config_error_naming_the_field(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "serve.yaml"
    raw = {
        "router": "r",
        "cards": "c.json",
        "state": value,
        "backends": {MATH: {"base_url": "http://x/v1", "model": "m"}},
    }
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=rf"^{path}: state: Value error, .*") as caught:
        load_serve_config(path)
    assert message in str(caught.value)


def test_a_wrong_state_url_never_shows_its_password() -> None:
    from modelsat.serve.state.url import check_state_url

    with pytest.raises(ValueError, match=r"'redis://:\*\*\*@127\.0\.0\.1:port/0': the port is not a number") as caught:
        check_state_url("redis://:s3cret@127.0.0.1:port/0")
    assert "s3cret" not in str(caught.value)
    assert check_state_url("redis://:s3cret@127.0.0.1:6379/2") == "redis://:s3cret@127.0.0.1:6379/2"


def test_the_replicas_example_config_and_keys_load() -> None:
    configs = Path(__file__).parents[2] / "configs"
    cfg = load_serve_config(configs / "serve.replicas.yaml")
    assert cfg.state == "redis://127.0.0.1:6390/0"
    ring = KeyRing.load(cfg.keys, {})
    assert [(k.name, k.rpm, k.budget_usd, k.admin) for k in ring.entries] == [
        ("team", 30, 0.01, False),
        ("ops", None, None, True),
    ]
