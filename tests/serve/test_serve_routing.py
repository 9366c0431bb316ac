"""The routing batcher: concurrent requests share one scoring call, off the event loop; start-up checks."""

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from serve_doubles import CHAT, CODE, MATH, KeywordScorer, write_config

from modelsat.aptitude.cards import Card, TaskScore, save_cards
from modelsat.errors import ConfigError, RouterError
from modelsat.serve.routing import RoutingBatcher, load_scorer, routing_threads, use_routing_threads

MODELS = [MATH, CODE, CHAT]


async def with_batcher(scorer, coro_fn, wait_s: float = 0.05, max_batch: int = 64):
    batcher = RoutingBatcher(scorer, MODELS, wait_s=wait_s, max_batch=max_batch)
    await batcher.start()
    try:
        return await coro_fn(batcher)
    finally:
        await batcher.aclose()


def test_concurrent_requests_are_scored_in_one_call(scorer: KeywordScorer) -> None:
    texts = [f"prove equation {i}" if i % 2 else f"python bug {i}" for i in range(20)]

    async def go(batcher: RoutingBatcher) -> list:
        return await asyncio.gather(*(batcher.rank(t, MODELS) for t in texts))

    rankings = asyncio.run(with_batcher(scorer, go))
    assert scorer.calls == [20]
    assert [r[0][0] for r in rankings] == [MATH if i % 2 else CODE for i in range(20)]  # each got its own row


def test_batches_respect_max_batch(scorer: KeywordScorer) -> None:
    async def go(batcher: RoutingBatcher) -> list:
        return await asyncio.gather(*(batcher.scores(f"text {i}") for i in range(20)))

    rows = asyncio.run(with_batcher(scorer, go, max_batch=8))
    assert scorer.calls == [8, 8, 4]
    assert all(row.shape == (3,) for row in rows)


def test_rank_orders_the_requested_candidates(scorer: KeywordScorer) -> None:
    async def go(batcher: RoutingBatcher) -> list:
        return await batcher.rank("a python function to prove an integral equation", [CHAT, CODE])

    assert asyncio.run(with_batcher(scorer, go, wait_s=0)) == [(CODE, 2.0), (CHAT, 0.5)]


class SlowScorer(KeywordScorer):
    def score_instructions(self, instructions: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        time.sleep(0.3)  # a blocking forward pass
        return super().score_instructions(instructions, models)


def test_scoring_does_not_block_the_event_loop() -> None:
    ticks: list[float] = []

    async def go(batcher: RoutingBatcher) -> None:
        async def tick() -> None:
            for _ in range(10):
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.02)

        await asyncio.gather(batcher.scores("x"), tick())

    asyncio.run(with_batcher(SlowScorer(), go, wait_s=0))
    assert len(ticks) == 10
    assert ticks[-1] - ticks[0] < 0.29  # all ticks ran while the scorer slept


def test_scorer_errors_reach_every_waiting_request(scorer: KeywordScorer) -> None:
    def broken(*_: object) -> np.ndarray:
        raise ValueError("tokenizer exploded")

    scorer.score_instructions = broken  # type: ignore[method-assign]

    async def go(batcher: RoutingBatcher) -> list:
        return await asyncio.gather(*(batcher.scores(str(i)) for i in range(3)), return_exceptions=True)

    results = asyncio.run(with_batcher(scorer, go))
    assert [str(r) for r in results] == ["tokenizer exploded"] * 3


def test_wrong_score_shape_is_a_router_error(scorer: KeywordScorer) -> None:
    scorer.score_instructions = lambda texts, models=None: np.zeros((len(texts), 2))  # type: ignore[method-assign]

    async def go(batcher: RoutingBatcher) -> np.ndarray:
        return await batcher.scores("x")

    with pytest.raises(RouterError, match=r"shape \(1, 2\), expected \(1, 3\)"):
        asyncio.run(with_batcher(scorer, go))


def test_scores_before_start_is_an_error(scorer: KeywordScorer) -> None:
    with pytest.raises(RuntimeError, match="start"):
        asyncio.run(RoutingBatcher(scorer, MODELS, 0, 1).scores("x"))


def test_load_scorer_needs_the_router_directory(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {MATH: "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="router directory .*router does not exist"):
        load_scorer(cfg)


def test_load_scorer_needs_a_card_for_every_backend(carded: Path) -> None:
    cfg = write_config(carded, {MATH: "http://127.0.0.1:9/v1", "gpt-4o": "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match=r"no capability card for backend\(s\) gpt-4o; cards exist for: mathstral-7B"):
        load_scorer(cfg)


def test_load_scorer_reports_an_unreadable_cards_file(tmp_path: Path) -> None:
    (tmp_path / "router").mkdir()
    (tmp_path / "cards.json").write_text("{oops")
    cfg = write_config(tmp_path, {MATH: "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="cards.json: not valid JSON"):
        load_scorer(cfg)


@pytest.fixture
def carded(tmp_path: Path) -> Path:
    """A router folder and a cards file with a card for MATH only."""
    (tmp_path / "router").mkdir()
    save_cards({MATH: Card(MATH, "fp", [TaskScore("mmlu/algebra", "Algebra", 0.5)])}, tmp_path / "cards.json")
    return tmp_path


def test_load_scorer_returns_the_loaded_router(carded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsat.router.routing import service

    fake = KeywordScorer({MATH: ("prove",)})
    modes = []
    monkeypatch.setattr(service, "load_router", lambda router_dir, cards_path, mode: modes.append(mode) or fake)
    assert load_scorer(write_config(carded, {MATH: "http://127.0.0.1:9/v1"})) is fake
    assert load_scorer(write_config(carded, {MATH: "http://127.0.0.1:9/v1"}, mode="full")) is fake
    assert modes == [None, "full"], "serve.yaml's mode, unset by default (the router's own)"


def test_router_load_errors_become_config_errors(carded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsat.router.routing import service

    def refuse(router_dir: Path, cards_path: Path, mode: str | None) -> None:
        raise RouterError("cards.json: card(s) of mathstral-7B were made against another aptitude set")

    monkeypatch.setattr(service, "load_router", refuse)
    with pytest.raises(ConfigError, match="made against another aptitude set"):
        load_scorer(write_config(carded, {MATH: "http://127.0.0.1:9/v1"}))


@pytest.mark.parametrize(
    ("cores", "configured", "mode", "expected"),
    [
        (4, None, "fast", 3),  # one core left to the event loop
        (4, None, "full", 4),  # the LLM forward is most of the work
        (4, None, None, 4),  # a scorer without modes routes like full
        (1, None, "fast", 1),
        (4, 2, "fast", 2),  # serve.yaml's routing_threads wins
        (4, 6, "full", 6),
    ],
)
def test_routing_threads_leave_the_event_loop_a_core_in_fast_mode(
    monkeypatch: pytest.MonkeyPatch, cores: int, configured: int | None, mode: str | None, expected: int
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert routing_threads(configured, mode) == expected


def test_use_routing_threads_sets_torchs_threads(tmp_path: Path) -> None:
    import torch

    scorer = KeywordScorer({MATH: ("prove",)})
    scorer.mode = "fast"
    before = torch.get_num_threads()
    try:
        cfg = write_config(tmp_path, {MATH: "http://127.0.0.1:9/v1"}, routing_threads=1)
        assert use_routing_threads(cfg, scorer) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_routing_threads_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="routing_threads"):
        write_config(tmp_path, {MATH: "http://127.0.0.1:9/v1"}, routing_threads=0)
