"""A reload loses no request: every request that reached the proxy before a reload finishes on the set it
started with, whether it was streaming, still sending its body, or asked a model the reload removed."""

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import yaml
from serve_doubles import CHAT, CODE, KEYWORDS, MATH, KeywordScorer, Switch, controllable_app, run_http, serve_proxy

from modelsat.serve.config import ServeConfig


def keyword_loader(cfg: ServeConfig, current: object, current_cfg: ServeConfig) -> KeywordScorer:
    """A reload's router: keywords for the models the new config serves."""
    return KeywordScorer({m: KEYWORDS[m] for m in cfg.backends})


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def trickled(head: bytes, rest: bytes, release: threading.Event) -> Iterator[bytes]:
    """A request body sent in two parts, the second once `release` is set (a slow client's upload)."""
    yield head
    release.wait(30)
    yield rest


def test_requests_in_flight_across_a_reload_that_removes_their_model_all_succeed(tmp_path: Path) -> None:
    switch = Switch()
    switch.event_delay_s = 0.05
    with run_http(controllable_app(switch, "echo")) as backend:
        urls = {m: backend + "/v1" for m in (MATH, CODE, CHAT)}
        with serve_proxy(tmp_path, KeywordScorer(), urls, app_options={"scorer_loader": keyword_loader}) as (url, app):
            live = app.state.live
            results: dict[str, httpx.Response] = {}
            release = threading.Event()
            stream_words = " ".join(f"integral{i}" for i in range(40))

            def send(name: str, model: str, text: str, stream: bool = False) -> None:
                body = f'{{"model": "{model}", "stream": {str(stream).lower()}, '.encode()
                rest = f'"messages": [{{"role": "user", "content": "{text}"}}]}}'.encode()
                content = body + rest if stream else trickled(body, rest, release)
                headers = {"content-type": "application/json"}
                with httpx.Client(base_url=url, timeout=30) as client:
                    results[name] = client.post("/v1/chat/completions", content=content, headers=headers)

            senders = [
                threading.Thread(target=send, args=("stream", "modelsat", stream_words, True)),
                threading.Thread(target=send, args=("routed", "modelsat", "prove the integral")),
                threading.Thread(target=send, args=("named", MATH, "hello math")),
            ]
            for sender in senders:
                sender.start()
            # all three pinned to generation 0: the stream is relaying, the two others still send their bodies
            wait_until(lambda: live.current.inflight == 3 and switch.calls == 1, "three requests in flight")
            raw = yaml.safe_load((tmp_path / "serve.yaml").read_text())
            raw["backends"].pop(MATH)
            (tmp_path / "serve.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
            with httpx.Client(base_url=url, timeout=30) as client:
                assert client.post("/admin/reload").json()["removed"] == [MATH]
                release.set()
                for sender in senders:
                    sender.join(timeout=30)
                assert {name: r.status_code for name, r in results.items()} == {
                    "stream": 200,
                    "routed": 200,
                    "named": 200,
                }
                assert all(r.headers["x-modelsat-model"] == MATH for r in results.values())
                assert results["routed"].json()["choices"][0]["message"]["content"] == "prove the integral"
                assert results["named"].json()["choices"][0]["message"]["content"] == "hello math"
                streamed = [line for line in results["stream"].text.split("\n\n") if line.startswith("data: ")]
                assert streamed[-1] == "data: [DONE]" and "integral39" in results["stream"].text
                # new requests start on the new set: the removed model is gone, its work goes elsewhere
                after = {"model": "modelsat", "messages": [{"role": "user", "content": "prove the integral"}]}
                assert client.post("/v1/chat/completions", json=after).headers["x-modelsat-model"] == CHAT
                assert client.post("/v1/chat/completions", json=after | {"model": MATH}).status_code == 404
                assert 'modelsat_requests_total{endpoint="/v1/chat/completions",status="500"}' not in (
                    client.get("/metrics").text
                )
