"""Routing off the event loop: concurrent requests are collected for a few ms and scored in one batch.

Scoring (a transformer forward pass) blocks, so it runs on one worker thread; while a batch is scored,
new requests queue up and form the next batch. Every batch scores all served models in one
`score_instructions` call; each request then ranks the subset it asked for.

Example:
    batcher = RoutingBatcher(scorer, ["a", "b"], wait_s=0.003, max_batch=64)
    await batcher.start()
    ranking = await batcher.rank("Prove that sqrt(2) is irrational.", candidates=["a", "b"])  # [("b", .9), ...]
    await batcher.aclose()
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from modelsat.errors import ConfigError, DataError, RouterError
from modelsat.serve.config import ServeConfig, check_against_models
from modelsat.types import InstructionScorer

log = logging.getLogger(__name__)

_Item = tuple[str, asyncio.Future[np.ndarray]]


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
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(RouterError("the router is shutting down"))
        if self._executor is not None and self._owns_executor:
            self._executor.shutdown(wait=False)

    async def scores(self, instruction: str) -> np.ndarray:
        """Scores of every served model for one instruction, shape (len(models),)."""
        if self._queue is None:
            raise RuntimeError("RoutingBatcher.start() was not called")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((instruction, future))
        return await future

    async def rank(self, instruction: str, candidates: Sequence[str]) -> list[tuple[str, float]]:
        """`candidates` with their scores, best first."""
        row = await self.scores(instruction)
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
            live = [(text, future) for text, future in batch if not future.done()]  # drop disconnected clients
            if not live:
                continue
            if self._on_batch is not None:
                self._on_batch(len(live))
            try:
                scores = await loop.run_in_executor(self._executor, self._score, [text for text, _ in live])
            except Exception as exc:  # noqa: BLE001 - any scorer failure belongs to the waiting requests
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for row, (_, future) in zip(scores, live, strict=True):
                if not future.done():
                    future.set_result(row)

    def _score(self, texts: list[str]) -> np.ndarray:
        scores = np.asarray(self._scorer.score_instructions(texts, self.models), dtype=float)
        expected = (len(texts), len(self.models))
        if scores.shape != expected:
            raise RouterError(f"router returned scores of shape {scores.shape}, expected {expected}")
        return scores


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
    from modelsat.router.service import load_router  # torch loads only here, at start-up

    try:
        scorer = load_router(Path(cfg.router), Path(cfg.cards))
    except RouterError as exc:  # an incomplete router or cards of another aptitude set: fix the config
        raise ConfigError(str(exc)) from exc
    check_against_models(cfg, scorer.models)
    return scorer
