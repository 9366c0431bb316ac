"""Named API keys from keys.yaml: identification by key or hash, per-key limits (429 + Retry-After), allowed
profiles, admin-only reloads, and per-key metrics that never contain a key."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml
from fastapi.testclient import TestClient
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, write_config

from modelsat.errors import ConfigError
from modelsat.serve.app import create_app
from modelsat.serve.backends import EchoBackend
from modelsat.serve.keys import KeyRing, RateLimiter

URL = "http://127.0.0.1:9/v1"
SECRET_A, SECRET_B, SECRET_OPS = "sk-team-a-0123456789", "sk-team-b-9876543210", "sk-ops-abcdef"
KEYS = {
    "keys": [
        {"name": "team-a", "key_sha256": hashlib.sha256(SECRET_A.encode()).hexdigest(), "rpm": 2},
        {"name": "team-b", "key": SECRET_B, "profiles": ["chat-only"]},
        {"name": "ops", "key": SECRET_OPS, "admin": True},
    ]
}


def auth(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def chat(content: str = "hello there", model: str = "modelsat") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


@pytest.fixture
def client(tmp_path: Path, scorer: KeywordScorer) -> Iterator[TestClient]:
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump(KEYS))
    price = {"input": 1.0, "output": 2.0}
    backends = {m: {"base_url": URL, "price": price} for m in (MATH, CODE, CHAT)}
    cfg = write_config(tmp_path, backends, keys="keys.yaml", profiles={"chat-only": [CHAT]})
    keys = KeyRing.load(cfg.keys, {})
    app = create_app(cfg, scorer, {m: EchoBackend(m) for m in cfg.backends}, keys=keys)
    with TestClient(app) as test_client:
        yield test_client


def test_keys_by_value_or_hash_and_env(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump(KEYS))
    ring = KeyRing.load(path, {"MODELSAT_API_KEYS": "legacy-key"})
    assert ring.identify(f"Bearer {SECRET_A}").name == "team-a"
    assert ring.identify(f"bearer {SECRET_B}").name == "team-b"
    assert ring.identify("Bearer legacy-key").name == "env-1"
    assert ring.identify("Bearer sk-team-a") is None and ring.identify(None) is None
    assert ring.identify(SECRET_A) is None  # no scheme


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "x", "key": "k1", "key_sha256": "0" * 64}], "keys.0: Value error, give exactly one of"),
        ([{"name": "x"}], "keys.0: Value error, give exactly one of"),
        ([{"name": "x", "key_sha256": "not-hex"}], "keys.0.key_sha256: String should match pattern"),
        ([{"name": "x", "key": "k1"}, {"name": "x", "key": "k2"}], "key names must be unique: ['x']"),
        ([{"name": "x", "key": "k1", "rpm": 0}], "keys.0.rpm: Input should be greater than or equal to 1"),
        ([{"name": "x", "key": "k1", "limit": 5}], "keys.0.limit: Extra inputs are not permitted"),
    ],
)
def test_bad_keys_files_name_the_file_and_field(tmp_path: Path, entries: list, message: str) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump({"keys": entries}))
    with pytest.raises(ConfigError, match=rf"^{path}: .*") as caught:
        KeyRing.load(path, {})
    assert message in str(caught.value)


def test_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.admit("a", 2) is None
    now[0] = 10.0
    assert limiter.admit("a", 2) is None
    now[0] = 20.0
    assert limiter.admit("a", 2) == pytest.approx(40.0)  # the first request leaves the window at t=60
    assert limiter.admit("b", 2) is None  # per key
    now[0] = 60.0
    assert limiter.admit("a", 2) is None
    assert limiter.admit("a", None) is None


def test_over_the_limit_is_429_with_retry_after(client: TestClient) -> None:
    for _ in range(2):
        assert client.post("/v1/chat/completions", json=chat(), headers=auth(SECRET_A)).status_code == 200
    refused = client.post("/v1/chat/completions", json=chat(), headers=auth(SECRET_A))
    assert refused.status_code == 429
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "team-a" in refused.json()["error"]["message"] and SECRET_A not in refused.text
    assert client.post("/v1/route", json={"prompt": "hi"}, headers=auth(SECRET_A)).status_code == 429
    assert client.post("/v1/chat/completions", json=chat(model=CHAT), headers=auth(SECRET_OPS)).status_code == 200


def test_the_openai_sdk_sees_a_rate_limit_error(client: TestClient) -> None:
    api = openai.OpenAI(base_url="http://testserver/v1", api_key=SECRET_A, http_client=client, max_retries=0)
    api.chat.completions.create(model="modelsat", messages=chat()["messages"])
    api.chat.completions.create(model="modelsat", messages=chat()["messages"])
    with pytest.raises(openai.RateLimitError) as caught:
        api.chat.completions.create(model="modelsat", messages=chat()["messages"])
    assert int(caught.value.response.headers["retry-after"]) >= 55


def test_a_key_limited_to_profiles(client: TestClient) -> None:
    refused = client.post("/v1/chat/completions", json=chat("prove the integral"), headers=auth(SECRET_B))
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "message": "key 'team-b' may request only modelsat/chat-only, not 'modelsat'",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_allowed",
    }
    assert client.post("/v1/chat/completions", json=chat(model=MATH), headers=auth(SECRET_B)).status_code == 403
    ok = client.post("/v1/chat/completions", json=chat("prove it", "modelsat/chat-only"), headers=auth(SECRET_B))
    assert ok.status_code == 200 and ok.headers["x-modelsat-model"] == CHAT
    listed = [m["id"] for m in client.get("/v1/models", headers=auth(SECRET_B)).json()["data"]]
    assert listed == ["modelsat/chat-only"]


def test_only_admin_keys_reload(client: TestClient) -> None:
    refused = client.post("/admin/reload", headers=auth(SECRET_B))
    assert refused.status_code == 403 and "not an admin key" in refused.json()["error"]["message"]
    assert client.post("/admin/reload").status_code == 401


def test_per_key_metrics_name_the_key_and_never_contain_it(client: TestClient) -> None:
    for _ in range(3):
        client.post("/v1/chat/completions", json=chat("one two three"), headers=auth(SECRET_A))
    client.post("/v1/chat/completions", json=chat("four five", "modelsat/chat-only"), headers=auth(SECRET_B))
    client.post("/v1/chat/completions", json=chat(), headers=auth("sk-wrong"))
    text = client.get("/metrics", headers=auth(SECRET_OPS)).text
    assert 'modelsat_key_requests_total{key="team-a",status="200"} 2.0' in text
    assert 'modelsat_key_requests_total{key="team-a",status="429"} 1.0' in text
    assert 'modelsat_key_requests_total{key="team-b",status="200"} 1.0' in text
    # echo usage: prompt tokens = words, completion = words; $1 / $2 per 1M tokens
    assert 'modelsat_key_cost_usd_total{key="team-a"} 1.8e-05' in text
    assert 'modelsat_key_cost_usd_total{key="team-b"} 6e-06' in text
    for secret in (SECRET_A, SECRET_B, SECRET_OPS, "sk-wrong", KEYS["keys"][0]["key_sha256"]):
        assert secret not in text


def test_unknown_profile_in_keys_file_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump({"keys": [{"name": "x", "key": "k1", "profiles": ["nope"]}]}))
    with pytest.raises(ConfigError, match="key 'x' allows unknown profile"):
        KeyRing.load(path, {}).check_profiles({"chat-only"}, path)


def test_the_example_keys_file_loads_against_the_example_config() -> None:
    from modelsat.serve.config import load_serve_config
    from modelsat.serve.reload import routed_names

    root = Path(__file__).parents[2] / "configs"
    ring = KeyRing.load(root / "keys.example.yaml", {})
    ring.check_profiles(routed_names(load_serve_config(root / "serve.example.yaml")), root / "keys.example.yaml")
    assert [(k.name, k.rpm, k.admin) for k in ring.entries] == [("team-math", 60, False), ("ops", None, True)]
    assert ring.identify("Bearer change-me-ops-key").name == "ops"


def test_a_spent_budget_is_429_until_the_period_renews(tmp_path: Path, scorer: KeywordScorer) -> None:
    entries = [
        {"name": "capped", "key": "sk-capped", "budget_usd": 1.5e-5},
        {"name": "ops", "key": "sk-ops", "admin": True},
    ]
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump({"keys": entries}))
    backends = {m: {"base_url": URL, "price": {"input": 1.0, "output": 2.0}} for m in (MATH, CODE, CHAT)}
    cfg = write_config(tmp_path, backends, keys="keys.yaml")
    app = create_app(cfg, scorer, {m: EchoBackend(m) for m in cfg.backends}, keys=KeyRing.load(cfg.keys, {}))
    with TestClient(app) as client:
        for _ in range(2):  # 9e-6 USD each (3 + 3 tokens): the second starts under the budget
            assert client.post("/v1/chat/completions", json=chat("one two three"), headers=auth("sk-capped")).is_success
        refused = client.post("/v1/chat/completions", json=chat("one two three"), headers=auth("sk-capped"))
        usage = client.get("/v1/usage", headers=auth("sk-ops")).json()
        assert client.get("/v1/usage", headers=auth("sk-capped")).status_code == 403
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    assert "spent its budget of 1.5e-05 USD per day (1.8e-05 USD spent)" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 86400
    assert usage["shared"] is False
    assert usage["keys"]["capped"]["day"] == {
        "requests": 2,
        "prompt_tokens": 6,
        "completion_tokens": 6,
        "cost_usd": 1.8e-05,
    }
    assert usage["models"][CHAT]["total"]["requests"] == 2 and usage["keys"]["ops"]["total"]["requests"] == 0
