"""Routing off the event loop: concurrent requests are collected for a few ms and scored in one batch.

Scoring (a transformer forward pass) blocks, so it runs on one worker thread; while a batch is scored,
new requests queue up and form the next batch. Every batch scores all served models in one
`score_instructions` call per routing mode asked for; each request then ranks the subset it asked for.
A request picks its routing mode with `"modelsat": {"mode": "fast" | "full"}` (`request_mode`); without it the
router's own mode (`serve.yaml`'s `mode`) routes it.

Example:
    batcher = RoutingBatcher(scorer, ["a", "b"], wait_s=0.003, max_batch=64)
    await batcher.start()
    ranking = await batcher.rank("Prove that sqrt(2) is irrational.", candidates=["a", "b"])  # [("b", .9), ...]
    await batcher.aclose()
"""

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from modelsat.errors import ConfigError, DataError, RouterError
from modelsat.router.routing.modes import MODES
from modelsat.serve.api import APIError
from modelsat.serve.config import ServeConfig, check_against_models
from modelsat.serve.cost import BODY_FIELD, MODE_KEY
from modelsat.types import InstructionScorer

log = logging.getLogger(__name__)

_Item = tuple[str, str | None, asyncio.Future[np.ndarray]]  # (routing text, routing mode or None, result)


class RoutingBatcher:
    """Batches `score_instructions` calls of concurrent requests onto one worker thread."""

    def __init__(
        self,
        scorer: InstructionScorer,
        models: Sequence[str],
        wait_s: float,
        max_batch: int,
        on_batch: Callable[[int], None] | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.models = list(models)
        self._scorer = scorer
        self._wait_s = wait_s
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Item] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = executor
        self._owns_executor = executor is None  # a shared one (one scoring thread across reloads) stays open

    async def start(self) -> None:
        """Start the collecting task on the running event loop and the scoring thread."""
        self._queue = asyncio.Queue()
        if self._owns_executor:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelsat-routing")
        self._worker = asyncio.create_task(self._run(), name="modelsat-routing")

    async def aclose(self) -> None:
        """Stop collecting; requests still waiting get a `RouterError`."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._queue is not None:
            while not self._queue.empty():
                _, _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(RouterError("the router is shutting down"))
        if self._executor is not None and self._owns_executor:
            self._executor.shutdown(wait=False)

    async def scores(self, instruction: str, mode: str | None = None) -> np.ndarray:
        """Scores of every served model for one instruction, shape (len(models),), in routing mode `mode` (None:
        the scorer's own)."""
        if self._queue is None:
            raise RuntimeError("RoutingBatcher.start() was not called")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((instruction, mode, future))
        return await future

    async def rank(
        self, instruction: str, candidates: Sequence[str], mode: str | None = None
    ) -> list[tuple[str, float]]:
        """`candidates` with their scores, best first."""
        row = await self.scores(instruction, mode)
        index = {m: i for i, m in enumerate(self.models)}
        ranked = [(m, float(row[index[m]])) for m in candidates]
        return sorted(ranked, key=lambda pair: -pair[1])

    async def _collect(self) -> list[_Item]:
        """Wait for one request, then gather more for up to `wait_s` (at most `max_batch`)."""
        assert self._queue is not None
        batch = [await self._queue.get()]
        deadline = asyncio.get_running_loop().time() + self._wait_s
        while len(batch) < self._max_batch:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        while len(batch) < self._max_batch and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            live = [item for item in batch if not item[2].done()]  # drop disconnected clients
            for mode in dict.fromkeys(m for _, m, _ in live):  # one scoring call per routing mode asked for
                group = [(text, future) for text, m, future in live if m == mode]
                if self._on_batch is not None:
                    self._on_batch(len(group))
                try:
                    texts = [text for text, _ in group]
                    scores = await loop.run_in_executor(self._executor, self._score, texts, mode)
                except Exception as exc:  # noqa: BLE001 - any scorer failure belongs to the waiting requests
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for row, (_, future) in zip(scores, group, strict=True):
                    if not future.done():
                        future.set_result(row)

    def _score(self, texts: list[str], mode: str | None) -> np.ndarray:
        # the mode is passed only when a request asked for one, so any `InstructionScorer` serves the default
        extra = {} if mode is None else {"mode": mode}
        scores = np.asarray(self._scorer.score_instructions(texts, self.models, **extra), dtype=float)
        expected = (len(texts), len(self.models))
        if scores.shape != expected:
            raise RouterError(f"router returned scores of shape {scores.shape}, expected {expected}")
        return scores


def request_mode(body: Mapping[str, Any]) -> str | None:
    """The routing mode a request asks for in `"modelsat": {"mode": ...}`, or None.

    Raises:
        APIError: 400 for a mode that is not fast or full.
    """
    options = body.get(BODY_FIELD)
    if not isinstance(options, Mapping) or MODE_KEY not in options:
        return None
    mode = options[MODE_KEY]
    if mode not in MODES:
        message = f"{BODY_FIELD}.{MODE_KEY} must be one of {', '.join(MODES)}; got {mode!r}"
        raise APIError(400, message, code="invalid_value", param=f"{BODY_FIELD}.{MODE_KEY}")
    return mode


def load_scorer(cfg: ServeConfig) -> InstructionScorer:
    """The trained router of `cfg`, after checking its directory and that every backend has a card.

    Raises:
        ConfigError: missing or incomplete router, unreadable or mismatched cards, or a backend without a card.
    """
    from modelsat.aptitude.cards import load_cards

    if not Path(cfg.router).is_dir():
        raise ConfigError(f"router directory {cfg.router} does not exist (train one with `modelsat train -o DIR`)")
    try:
        cards = load_cards(cfg.cards)
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    check_against_models(cfg, cards)
    from modelsat.router.routing.service import load_router  # torch loads only here, at start-up

    try:
        scorer = load_router(Path(cfg.router), Path(cfg.cards), mode=cfg.mode)
    except RouterError as exc:  # an incomplete router or cards of another aptitude set: fix the config
        raise ConfigError(str(exc)) from exc
    check_against_models(cfg, scorer.models)
    check_targets(cfg, getattr(scorer, "mode", None))
    return scorer


def check_targets(cfg: ServeConfig, mode: str | None) -> None:
    """Fail unless every named trade-off's target can be read off the router's calibrated targets.

    Raises:
        ConfigError: naming the trade-off and the missing or unsuitable targets file.
    """
    from modelsat.cost.targets import TargetCurve, targets_file

    named = {name: t.target() for name, t in cfg.tradeoffs.items() if t.target() is not None}
    if not named:
        return
    path = Path(cfg.router) / targets_file(mode or "full")
    try:
        curve = TargetCurve.load(path)
        for target in named.values():
            curve.resolve(target)
    except (DataError, ConfigError) as exc:
        raise ConfigError(f"trade-off(s) {', '.join(named)}: {exc}") from None


def use_routing_threads(cfg: ServeConfig, scorer: InstructionScorer) -> int:
    """Give the router's forward passes `routing_threads(...)` torch threads (process-wide: call once, at
    start-up) and return how many."""
    import torch

    threads = routing_threads(cfg.routing_threads, getattr(scorer, "mode", None))
    torch.set_num_threads(threads)
    return threads


def routing_threads(configured: int | None, mode: str | None) -> int:
    """Torch threads for routing: `configured`, else every core of this process but one in fast mode and every core
    otherwise (docs/router.md, "Where the proxy's time goes": fast routing costs about as much CPU per request as the
    proxy's HTTP work on the event loop; full routing is most of the proxy's work)."""
    if configured is not None:
        return configured
    cores = len(os.sched_getaffinity(0))
    return max(1, cores - 1) if mode == "fast" else cores
