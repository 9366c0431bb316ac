"""Routing modes in the proxy: `mode:` in serve.yaml, and a request's own `"modelsat": {"mode": ...}`."""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, write_config

from modelsat.errors import ConfigError
from modelsat.serve.app import create_app
from modelsat.serve.backends import EchoBackend
from modelsat.serve.routing import RoutingBatcher

URLS = {MATH: "http://127.0.0.1:9/v1", CODE: "http://127.0.0.1:9/v1", CHAT: "http://127.0.0.1:9/v1"}


class ModeScorer(KeywordScorer):
    """The keyword scorer in two modes: `full` reads the keywords, `fast` prefers CODE; records each call's mode."""

    mode = "fast"

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[str | None] = []

    def score_instructions(
        self, instructions: Sequence[str], models: Sequence[str] | None = None, mode: str | None = None
    ) -> np.ndarray:
        self.modes.append(mode)
        scores = super().score_instructions(instructions, models)
        if (mode or self.mode) == "fast":
            scores[:, list(models or self.models).index(CODE)] += 10
        return scores


def client(tmp_path: Path, scorer: ModeScorer) -> TestClient:
    backends = {name: EchoBackend(name) for name in URLS}
    return TestClient(create_app(write_config(tmp_path, URLS), scorer, backends))


def test_serve_config_takes_a_mode_the_routers_own_by_default(tmp_path: Path) -> None:
    assert write_config(tmp_path, URLS).mode is None
    assert write_config(tmp_path, URLS, mode="full").mode == "full"
    with pytest.raises(ConfigError, match="mode"):
        write_config(tmp_path, URLS, mode="quick")


def test_a_request_picks_its_mode_and_the_response_names_it(tmp_path: Path) -> None:
    scorer = ModeScorer()
    question = {"role": "user", "content": "Prove the integral equation"}
    with client(tmp_path, scorer) as proxy:
        default = proxy.post("/v1/chat/completions", json={"model": "modelsat", "messages": [question]})
        full = proxy.post(
            "/v1/chat/completions", json={"model": "modelsat", "messages": [question], "modelsat": {"mode": "full"}}
        )
        routed = proxy.post("/v1/route", json={"prompt": question["content"], "modelsat": {"mode": "full"}})
    assert (default.headers["x-modelsat-mode"], default.headers["x-modelsat-model"]) == ("fast", CODE)
    assert (full.headers["x-modelsat-mode"], full.headers["x-modelsat-model"]) == ("full", MATH)
    assert routed.status_code == 200, routed.text
    assert routed.json()["mode"] == "full" and routed.json()["model"] == MATH
    assert scorer.modes == [None, "full", "full"], "the default mode is the scorer's own: no mode argument"


def test_a_bad_mode_is_a_400_naming_the_field_and_a_mode_alone_is_no_tradeoff(tmp_path: Path) -> None:
    scorer = ModeScorer()
    with client(tmp_path, scorer) as proxy:
        bad = proxy.post("/v1/route", json={"prompt": "hi", "modelsat": {"mode": "quick"}})
        unpriced = proxy.post("/v1/route", json={"prompt": "hi", "modelsat": {"mode": "fast", "lambda": 5}})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "modelsat.mode"
    assert unpriced.status_code == 400 and "needs prices" in unpriced.json()["error"]["message"]
    assert scorer.modes == ["fast"], "the bad mode never reached the router"


def test_the_batcher_scores_each_mode_in_its_own_call() -> None:
    scorer = ModeScorer()

    async def go() -> list:
        batcher = RoutingBatcher(scorer, [MATH, CODE, CHAT], wait_s=0.05, max_batch=64)
        await batcher.start()
        try:
            modes = [None, "full", None, "full", "fast"]
            return await asyncio.gather(*(batcher.rank("prove it", [MATH, CODE], m) for m in modes))
        finally:
            await batcher.aclose()

    rankings = asyncio.run(go())
    assert sorted(scorer.calls) == [1, 2, 2] and sorted(map(str, scorer.modes)) == ["None", "fast", "full"]
    assert [r[0][0] for r in rankings] == [CODE, MATH, CODE, MATH, CODE]
