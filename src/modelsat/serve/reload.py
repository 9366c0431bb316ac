"""Live reload: the proxy serves one `ServingSet` (config, router, backends, keys) at a time and swaps it for a
new one built from serve.yaml and the cards, without a restart.

A request pins the set that was current when it arrived and finishes on it; the old set is retired (its
routing batcher stopped, backends that left the config closed, `on_retired` told) once its last request is
done, so state kept per model (cool-downs, metrics) must stay until then for the models it still serves. A reload
that fails anywhere (unreadable or invalid YAML, a card missing or made on another aptitude set, an unset
`api_key_env`, a bad keys file) is refused with its reason and the running set stays. A model added to
both serve.yaml and the cards file joins by its card alone (Model-SAT's promise: no retraining): with the
same router directory the router's weights are reused and only the cards change.

Example:
    live = LiveSet(initial_set, loader=ServingSetLoader(config_path, environ, metrics))
    async with live.pinned() as serving: ...      # a request's view
    summary = await live.reload()                 # ReloadRefused(reason) on failure
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelsat.errors import ConfigError, DataError, ModelsatError, RouterError
from modelsat.serve.backends import Backend, build_backends
from modelsat.serve.config import ServeConfig, check_against_models, load_serve_config
from modelsat.serve.heap import trim_heap
from modelsat.serve.keys import KeyRing
from modelsat.serve.routing import RoutingBatcher, load_scorer
from modelsat.types import InstructionScorer

log = logging.getLogger(__name__)

# ServeConfig fields that change what the proxy does with a ranking, not the router that ranks: a reload that
# changes only these (and the cards) keeps the loaded router weights. Any other field reloads the router.
_SERVING_FIELDS = {
    "cards",
    "backends",
    "profiles",
    "tradeoffs",
    "expected_output_tokens",
    "fallbacks",
    "max_body_bytes",
    "batch_wait_ms",
    "max_batch",
    "stream_idle_s",
    "cooldown",
    "keys",
}


class ReloadRefused(ModelsatError):
    """A reload that could not be applied; the set already serving stays."""


@dataclass(eq=False)
class ServingSet:
    """Everything one configuration serves with; `generation` counts reloads (0 at start-up)."""

    cfg: ServeConfig
    scorer: InstructionScorer
    backends: dict[str, Backend]
    keys: KeyRing
    batcher: RoutingBatcher
    generation: int = 0
    inflight: int = 0
    retired: bool = False
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def models(self) -> list[str]:
        """The served models, in config order."""
        return list(self.cfg.backends)


BatcherFactory = Callable[[ServeConfig, InstructionScorer], RoutingBatcher]


def batcher_factory(on_batch: Callable[[int], None], executor: ThreadPoolExecutor) -> BatcherFactory:
    """Routing batchers that all score on `executor`: one scoring thread for the proxy's whole life, so a reload
    neither runs two scorers at once nor leaves a thread's worth of freed memory behind."""

    def make(cfg: ServeConfig, scorer: InstructionScorer) -> RoutingBatcher:
        wait_s = cfg.batch_wait_ms / 1000
        return RoutingBatcher(scorer, list(cfg.backends), wait_s, cfg.max_batch, on_batch=on_batch, executor=executor)

    return make


def reload_scorer(cfg: ServeConfig, current: InstructionScorer, current_cfg: ServeConfig) -> InstructionScorer:
    """The router for `cfg`: the loaded one over the new cards when only serving fields and cards changed (no
    weights reloaded, seconds saved), else a fresh `load_scorer`.

    Raises:
        ConfigError: unreadable cards, a card made on another aptitude set, or a backend without a card.
    """
    from modelsat.router.routing.service import RoutingService  # torch is loaded already: a scorer is serving

    same_router = cfg.model_dump(exclude=_SERVING_FIELDS) == current_cfg.model_dump(exclude=_SERVING_FIELDS)
    if not (same_router and isinstance(current, RoutingService) and current.aptitude is not None):
        return load_scorer(cfg)
    from modelsat.aptitude.cards import check_fingerprints, load_cards

    try:
        cards = load_cards(cfg.cards)  # its errors name the file
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        check_fingerprints(cards, current.aptitude)  # the router's, as read when it loaded
    except DataError as exc:
        raise ConfigError(f"{cfg.cards}: {exc}") from exc
    check_against_models(cfg, cards)
    return current.with_cards(cards)


ScorerLoader = Callable[[ServeConfig, InstructionScorer, ServeConfig], InstructionScorer]


@dataclass
class ServingSetLoader:
    """Builds the next serving set from the config file (and the cards and keys files it names)."""

    config_path: Path
    environ: Mapping[str, str]
    scorer_loader: ScorerLoader = reload_scorer
    mode: str | None = None  # `serve --mode`: overrides the routing mode of every config read

    def build(self, current: ServingSet, new_batcher: BatcherFactory) -> ServingSet:
        """A new set: backends whose config is unchanged are reused (their connections and cool-down state too).

        Raises:
            ConfigError: any problem with serve.yaml, the cards, the keys file or a backend's key variable.
        """
        cfg = load_serve_config(self.config_path)
        if cfg.state != current.cfg.state:
            running = current.cfg.state
            raise ConfigError(f"{self.config_path}: state: changing it needs a restart (running with {running!r})")
        if self.mode is not None:
            cfg = cfg.model_copy(update={"mode": self.mode})
        keys = KeyRing.load(cfg.keys, self.environ)
        keys.check_profiles(routed_names(cfg), cfg.keys)
        try:
            scorer = self.scorer_loader(cfg, current.scorer, current.cfg)
        except RouterError as exc:
            raise ConfigError(str(exc)) from exc
        missing = sorted(set(cfg.backends) - set(scorer.models))
        if missing:
            raise ConfigError(f"{cfg.cards}: the router has no card for backend(s) {', '.join(missing)}")
        changed = {n: b for n, b in cfg.backends.items() if current.cfg.backends.get(n) != b}
        fresh = build_backends(cfg.model_copy(update={"backends": changed}), self.environ) if changed else {}
        backends = {n: fresh[n] if n in fresh else current.backends[n] for n in cfg.backends}
        batcher = new_batcher(cfg, scorer)
        return ServingSet(cfg, scorer, backends, keys, batcher, generation=current.generation + 1)


def routed_names(cfg: ServeConfig) -> set[str]:
    """Names a key's `profiles` may list: the config's profiles and trade-offs, and the named zoos."""
    from modelsat.data.zoos import ZOOS

    return {*cfg.profiles, *cfg.tradeoffs, *ZOOS}


def _warm_up(serving: ServingSet) -> None:
    serving.scorer.score_instructions(["warm-up"], serving.models)


class LiveSet:
    """The serving set now in use, with pinning for requests and a serialized reload."""

    def __init__(
        self,
        initial: ServingSet,
        loader: ServingSetLoader | None,
        new_batcher: BatcherFactory,
        scoring: ThreadPoolExecutor,
        on_swap: Callable[[ServingSet, ServingSet], None],
        on_retired: Callable[[ServingSet], None] = lambda _: None,
    ) -> None:
        self.current = initial
        self._unretired = [initial]  # the current set and older ones still finishing their requests
        self._loader = loader
        self._new_batcher = new_batcher
        self._scoring = scoring
        self._on_swap = on_swap
        self._on_retired = on_retired
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def models_in_use(self) -> list[str]:
        """The current set's models, then those only older sets still finishing requests serve."""
        return list(dict.fromkeys(m for serving in [self.current, *self._unretired] for m in serving.models))

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[ServingSet]:
        """The current set, kept alive until the block (the whole request, streaming included) ends."""
        serving = self.current
        serving.inflight += 1
        try:
            yield serving
        finally:
            serving.inflight -= 1
            if serving.inflight == 0:
                serving._idle.set()

    async def reload(self) -> dict[str, Any]:
        """Build the next set from the config file and swap it in.

        Returns:
            A summary: generation, models, added and removed models, seconds taken.

        Raises:
            ReloadRefused: with the reason; the current set keeps serving.
        """
        if self._loader is None:
            raise ReloadRefused("this proxy was started without a config file, so it cannot re-read one")
        async with self._lock:
            started = time.perf_counter()
            old = self.current
            try:
                new = await asyncio.to_thread(self._loader.build, old, self._new_batcher)
                # the new cards are encoded now, on the scoring thread, not by the first request after the swap
                await asyncio.get_running_loop().run_in_executor(self._scoring, _warm_up, new)
            except (ConfigError, RouterError) as exc:
                log.error("reload refused, still serving generation %d: %s", old.generation, exc)
                raise ReloadRefused(str(exc)) from None
            await new.batcher.start()
            self.current = new
            self._unretired.append(new)
            self._on_swap(old, new)
            task = asyncio.create_task(self._retire(old, new), name=f"modelsat-retire-{old.generation}")
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            added = sorted(set(new.models) - set(old.models))
            removed = sorted(set(old.models) - set(new.models))
            seconds = time.perf_counter() - started
            log.info(
                "reloaded %s in %.2f s: generation %d serves %d model(s)%s%s",
                self._loader.config_path,
                seconds,
                new.generation,
                len(new.models),
                f", added {', '.join(added)}" if added else "",
                f", removed {', '.join(removed)}" if removed else "",
            )
            return {
                "generation": new.generation,
                "models": new.models,
                "added": added,
                "removed": removed,
                "seconds": round(seconds, 3),
            }

    async def _retire(self, old: ServingSet, new: ServingSet) -> None:
        """Once `old`'s requests are done: stop its batcher and close the backends `new` does not use."""
        old.retired = True
        if old.inflight:
            old._idle.clear()
            await old._idle.wait()
        await old.batcher.aclose()
        kept = {id(b) for serving in self._unretired if serving is not old for b in serving.backends.values()}
        for backend in old.backends.values():
            if id(backend) not in kept:
                await backend.aclose()
        self._unretired.remove(old)
        self._on_retired(old)
        await asyncio.get_running_loop().run_in_executor(self._scoring, trim_heap)  # the old set's memory
        log.info("generation %d retired", old.generation)

    async def aclose(self) -> None:
        """Stop the current set and any still retiring (at shutdown)."""
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        await self.current.batcher.aclose()
        for backend in self.current.backends.values():
            await backend.aclose()
