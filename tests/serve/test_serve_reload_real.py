"""`modelsat serve` with the shipped router as a process: SIGHUP adds a model by its card (no restart, no
retraining), and a card made on another aptitude set is refused with a logged reason while the old set serves."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from serve_doubles import free_port

ROOT = Path(__file__).parents[2]
ROUTER = ROOT / "routers" / "default"
OLD, NEW, FOREIGN = ["mathstral-7B", "Qwen1.5-7B-Chat"], "gemini-1.5-pro-002", "Yi-6B"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ROUTER.is_dir(), reason="routers/default not trained yet")]


def write(tmp_path: Path, models: list[str], echo_url: str, foreign: str | None = None) -> None:
    """serve.yaml and cards.json (the router's own cards, made by `modelsat profile`) for `models`."""
    cards = json.loads((ROUTER / "cards.json").read_text())
    chosen = {name: card for name, card in cards["cards"].items() if name in models}
    if foreign is not None:
        chosen[foreign]["aptitude_fingerprint"] = "0" * len(chosen[foreign]["aptitude_fingerprint"])
    (tmp_path / "cards.json").write_text(json.dumps({**cards, "cards": chosen}))
    backends = {m: {"base_url": echo_url, "model": "echo", "timeout_s": 10} for m in models}
    raw = {"router": str(ROUTER), "cards": "cards.json", "backends": backends}
    (tmp_path / "serve.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def healthz(url: str) -> dict | None:
    try:
        return httpx.get(url + "/healthz", timeout=2).json()
    except httpx.TransportError:
        return None


def test_sighup_adds_a_model_and_a_foreign_card_is_refused(tmp_path: Path, echo_url: str) -> None:
    write(tmp_path, OLD, echo_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "modelsat.cli.main", "serve", "--config", "serve.yaml", "--port", str(port)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proxy = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: healthz(url) is not None, 180, "the proxy to start")
        question = {"prompt": "Which gas makes up most of the Earth's atmosphere?"}
        before = httpx.post(url + "/v1/route", json=question, timeout=30).json()
        assert sorted(r["model"] for r in before["ranking"]) == sorted(OLD)

        write(tmp_path, [*OLD, NEW], echo_url)
        proxy.send_signal(signal.SIGHUP)
        wait_for(lambda: (healthz(url) or {}).get("generation") == 1, 60, "the SIGHUP reload")
        after = httpx.post(url + "/v1/route", json=question, timeout=30).json()
        assert sorted(r["model"] for r in after["ranking"]) == sorted([*OLD, NEW])
        assert after["model"] == NEW  # the strong new model is routed the question, by its card alone
        chat = {"model": "modelsat", "messages": [{"role": "user", "content": question["prompt"]}]}
        assert httpx.post(url + "/v1/chat/completions", json=chat, timeout=30).headers["x-modelsat-model"] == NEW

        write(tmp_path, [*OLD, NEW, FOREIGN], echo_url, foreign=FOREIGN)
        refused = httpx.post(url + "/admin/reload", timeout=60)
        assert refused.status_code == 400
        assert f"card(s) of {FOREIGN} were made on another aptitude set" in refused.json()["error"]["message"]
        assert healthz(url)["generation"] == 1
        assert httpx.post(url + "/v1/chat/completions", json=chat, timeout=30).headers["x-modelsat-model"] == NEW
    finally:
        proxy.send_signal(signal.SIGINT)
        _, stderr = proxy.communicate(timeout=60)
    assert "reload refused, still serving generation 1" in stderr
    assert f"card(s) of {FOREIGN} were made on another aptitude set" in stderr
    assert f"generation 1 serves 3 model(s), added {NEW}" in stderr
