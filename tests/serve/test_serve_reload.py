"""Live reload (POST /admin/reload): a model added to serve.yaml and the cards starts receiving traffic, requests
in flight finish on the old set, and a broken config is refused with its reason while the old set keeps serving."""

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from serve_doubles import CHAT, CODE, KEYWORDS, MATH, KeywordScorer, Switch, controllable_app, run_http, serve_proxy

from modelsat.errors import ConfigError
from modelsat.serve.config import ServeConfig

POET = "poet-7B"
KNOWN = {**KEYWORDS, POET: ("poem", "sonnet")}


def keyword_loader(cfg: ServeConfig, current: object, current_cfg: ServeConfig) -> KeywordScorer:
    """A reload's router: keywords for the configured models, refusing a model it has no 'card' for."""
    missing = sorted(set(cfg.backends) - set(KNOWN))
    if missing:
        raise ConfigError(f"{cfg.cards}: no capability card for backend(s) {', '.join(missing)}")
    return KeywordScorer({m: KNOWN[m] for m in cfg.backends})


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path, str, Switch]]:
    """The proxy serving MATH, CODE, CHAT (all one controllable echo server), reloadable from tmp_path/serve.yaml."""
    switch = Switch()
    with run_http(controllable_app(switch, "echo")) as backend:
        url_v1 = backend + "/v1"
        scorer = KeywordScorer({m: KEYWORDS[m] for m in (MATH, CODE, CHAT)})
        with (
            serve_proxy(
                tmp_path, scorer, {m: url_v1 for m in (MATH, CODE, CHAT)}, app_options={"scorer_loader": keyword_loader}
            ) as (url, _),
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            yield client, tmp_path / "serve.yaml", url_v1, switch


def edit(path: Path, change) -> None:
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def ask(client: httpx.Client, text: str, model: str = "modelsat") -> httpx.Response:
    return client.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})


def test_a_model_added_to_the_config_is_routed_after_reload(setup) -> None:
    client, path, url_v1, _ = setup
    assert ask(client, "write a sonnet").headers["x-modelsat-model"] == CHAT
    edit(path, lambda raw: raw["backends"].update({POET: {"base_url": url_v1, "model": "echo", "timeout_s": 5}}))
    reply = client.post("/admin/reload")
    assert reply.status_code == 200
    assert reply.json() | {"seconds": 0} == {
        "object": "modelsat.reload",
        "generation": 1,
        "models": [MATH, CODE, CHAT, POET],
        "added": [POET],
        "removed": [],
        "seconds": 0,
        "config_version": 1,
    }
    assert ask(client, "write a sonnet").headers["x-modelsat-model"] == POET
    assert ask(client, "prove the integral").headers["x-modelsat-model"] == MATH
    assert client.get("/healthz").json() == {"status": "ok", "models": 4, "generation": 1}
    assert [b["id"] for b in client.get("/v1/backends").json()["data"]] == [MATH, CODE, CHAT, POET]
    metrics = client.get("/metrics").text
    assert 'modelsat_reloads_total{result="applied"} 1.0' in metrics
    assert "modelsat_served_models 4.0" in metrics


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda raw: raw.update({"fallbacks": -1}), "fallbacks: Input should be greater than or equal to 0"),
        (lambda raw: raw.update({"timeout": 3}), "timeout: Extra inputs are not permitted"),
        (
            lambda raw: raw["backends"].update({"mystery-9B": {"base_url": "http://127.0.0.1:9/v1", "model": "x"}}),
            "no capability card for backend(s) mystery-9B",
        ),
        (lambda raw: raw.update({"keys": "missing-keys.yaml"}), "cannot read keys file"),
    ],
    ids=["bad-value", "unknown-key", "no-card", "missing-keys-file"],
)
def test_a_refused_reload_keeps_the_old_set_serving(setup, caplog, change, reason: str) -> None:
    client, path, _, _ = setup
    edit(path, change)
    with caplog.at_level(logging.ERROR, logger="modelsat.serve.reload"):
        refused = client.post("/admin/reload")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "reload_refused"
    assert reason in refused.json()["error"]["message"]
    assert any(
        "reload refused, still serving generation 0" in r.message and reason in r.message for r in caplog.records
    )
    assert ask(client, "prove the integral").headers["x-modelsat-model"] == MATH
    assert client.get("/healthz").json()["generation"] == 0
    assert 'modelsat_reloads_total{result="refused"} 1.0' in client.get("/metrics").text


def test_invalid_yaml_is_refused(setup) -> None:
    client, path, _, _ = setup
    path.write_text("backends: [unclosed\n")
    refused = client.post("/admin/reload")
    assert refused.status_code == 400 and "not valid YAML" in refused.json()["error"]["message"]
    assert ask(client, "hello").status_code == 200


def test_a_stream_in_flight_finishes_on_the_old_set(setup) -> None:
    client, path, _, switch = setup
    switch.event_delay_s = 0.05
    words = " ".join(f"integral{i}" for i in range(30))
    result: dict[str, str] = {}

    def stream() -> None:
        api = openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key="unused", max_retries=0)
        chunks = api.chat.completions.create(
            model="modelsat", messages=[{"role": "user", "content": words}], stream=True
        )
        result["text"] = "".join(c.choices[0].delta.content or "" for c in chunks)

    reader = threading.Thread(target=stream)
    reader.start()
    while switch.calls == 0:
        threading.Event().wait(0.01)
    edit(path, lambda raw: raw["backends"].pop(MATH))  # the model answering the stream leaves the config
    assert client.post("/admin/reload").json()["removed"] == [MATH]
    assert reader.is_alive()  # the stream was still running when the reload finished
    reader.join(timeout=30)
    assert result["text"] == words
    assert ask(client, "hi", model=MATH).status_code == 404
    assert ask(client, "prove the integral").headers["x-modelsat-model"] == CHAT


def test_reload_without_a_config_file_is_refused(tmp_path: Path, scorer: KeywordScorer) -> None:
    from fastapi.testclient import TestClient
    from serve_doubles import write_config

    from modelsat.serve.app import create_app
    from modelsat.serve.backends import EchoBackend

    cfg = write_config(tmp_path, {m: "http://127.0.0.1:9/v1" for m in (MATH, CODE, CHAT)})
    with TestClient(create_app(cfg, scorer, {m: EchoBackend(m) for m in cfg.backends})) as client:
        refused = client.post("/admin/reload")
    assert refused.status_code == 400 and "started without a config file" in refused.json()["error"]["message"]
