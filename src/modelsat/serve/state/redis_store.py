"""`state: redis://HOST:PORT/DB`: limits, budgets, usage, cool-downs and reloads shared by every replica of the
proxy that names the same Redis.

- Limits and budgets: one Lua script per request (`scripts.ADMIT`) checks the key's budget and takes a place in
  its sliding 60 s window atomically, on Redis's clock, so N replicas together admit a key's `rpm`, not N × rpm.
- Usage: answered requests add their tokens and cost to hashes per key and per model (day, month, total), in one
  script call per replica every 50 ms (`FLUSH_S`), so a spent budget is refused everywhere within a few tens of ms.
- Cool-downs: each backend failure a replica sees, each cool-down it starts and each probe it settles is
  published on a channel; the others apply it at once (`HealthBoard.apply_shared`), so failures seen by all
  replicas together start a cool-down on every one.
- Reloads: a reload asked of any replica increments the shared config version and publishes it, then every
  replica reloads at once (each re-reads its serve.yaml); a replica that missed the message (Redis was away)
  catches up when it subscribes again.

When Redis cannot be reached no request fails: this replica falls back to its own memory (`MemoryState`), says so
in one log line and in `modelsat_state_shared` (0), and pings again with back-off (0.1 s doubling to 2 s); the
shared state is used again as soon as a ping answers.

Example:
    state = RedisState("redis://127.0.0.1:6379/0", metrics.registry)
    await state.start(board, reload_here)      # in the app's lifespan
"""

import asyncio
import itertools
import json
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from modelsat.serve.health import HealthBoard, Shared
from modelsat.serve.keys import WINDOW_S, KeyEntry
from modelsat.serve.state.ledger import SPANS, Refusal, Usage, period_ids, seconds_left
from modelsat.serve.state.memory import MemoryState
from modelsat.serve.state.scripts import ADMIT, RECORD

log = logging.getLogger(__name__)

PREFIX = "modelsat:"
CHANNEL = PREFIX + "events"
VERSION_KEY = PREFIX + "config_version"
TTL_S = {"day": 40 * 86400, "month": 400 * 86400, "total": 0}
FLUSH_S = 0.05  # usage is sent to Redis this often (one call for every request answered meanwhile)
ERRORS = (RedisError, OSError, TimeoutError)


def where(url: str) -> str:
    """HOST:PORT/DB of a Redis URL (never its password), for logs and errors."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}/{parts.path.strip('/') or '0'}"


class RedisState:
    """Shared state in Redis, with this replica's memory as the fallback while Redis is away."""

    shared = True

    def __init__(
        self, url: str, registry: CollectorRegistry, *, timeout_s: float = 0.5, max_backoff_s: float = 2.0
    ) -> None:
        options: dict[str, Any] = {
            "socket_connect_timeout": timeout_s,
            "decode_responses": True,
            "retry": Retry(NoBackoff(), 0),  # this class decides what a failure means: no silent retries
        }
        self.where = where(url)
        self.client = Redis.from_url(url, socket_timeout=timeout_s, **options)
        self._listening = Redis.from_url(url, socket_timeout=None, **options)  # waits for events without timing out
        self.local = MemoryState()
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.config_version = 0
        self._max_backoff_s = max_backoff_s
        self._admit = self.client.register_script(ADMIT)
        self._record = self.client.register_script(RECORD)
        self._seq = itertools.count()
        self._reachable = asyncio.Event()
        self._reachable.set()
        self._follow_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: defaultdict[tuple[str, int], Usage] = defaultdict(Usage)  # (hash, ttl) -> usage to add
        self._flushing = False
        self._board: HealthBoard | None = None
        self._reload_here: Callable[[], Awaitable[bool]] | None = None
        self._up = Gauge(
            "modelsat_state_shared",
            "1 while the shared state (Redis) is reachable, 0 while this replica falls back to its own memory.",
            registry=registry,
        )
        self._outages = Counter(
            "modelsat_state_outages", "Times the shared state (Redis) became unreachable.", registry=registry
        )
        self._up.set(1)

    @property
    def reachable(self) -> bool:
        """Whether requests use the shared state now (False: this replica's memory)."""
        return self._reachable.is_set()

    async def start(self, board: HealthBoard, reload_here: Callable[[], Awaitable[bool]]) -> None:
        """Share `board`'s cool-downs and follow other replicas' reloads (`reload_here` reloads this one)."""
        self._board, self._reload_here = board, reload_here
        board.share = self._share_health
        try:
            self.config_version = int(await self.client.get(VERSION_KEY) or 0)  # the config this replica just read
        except ERRORS as exc:
            self._lost(exc)
        self._spawn(self._listen())

    async def admit(self, key: KeyEntry) -> Refusal | None:
        """Check `key`'s budget and take a place in its limit's window, for all replicas at once."""
        if not self.reachable:
            return self.local.admit_now(key)
        now = time.time()
        period = period_ids(now)[key.budget_period]
        budget = "" if key.budget_usd is None else repr(key.budget_usd)
        member = f"{self.replica}:{next(self._seq)}"
        names = [f"{PREFIX}window:{key.name}", f"{PREFIX}usage:key:{key.name}:{period}"]
        try:
            code, value = await self._admit(keys=names, args=[key.rpm or 0, int(WINDOW_S * 1000), budget, member])
        except ERRORS as exc:
            self._lost(exc)
            return self.local.admit_now(key)
        if code == 0:
            return None
        if code == 1:
            return Refusal("requests", float(value) / 1000)
        return Refusal("budget", seconds_left(key.budget_period, now), float(value))

    def record(self, key: str | None, model: str, usage: Usage) -> None:
        """Count an answered request here and, within `FLUSH_S`, in Redis."""
        self.local.record(key, model, usage)
        if not self.reachable:
            return
        ids = period_ids(time.time())
        for scope, name in [("model", model)] + ([("key", key)] if key is not None else []):
            for span in SPANS:
                self._pending[f"{PREFIX}usage:{scope}:{name}:{ids[span]}", TTL_S[span]].add(usage)
        if not self._flushing:
            self._flushing = True
            self._spawn(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_S)
        self._flushing = False
        await self._flush()

    async def _flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(Usage)
        if not pending:
            return
        names = [name for name, _ in pending]
        args = [
            value
            for (_, ttl), u in pending.items()
            for value in (u.requests, u.prompt_tokens, u.completion_tokens, repr(u.cost_usd), ttl)
        ]
        await self._guarded(self._record(keys=names, args=args))

    async def used(self, key: str) -> int:
        """Requests `key` was admitted in the last 60 s by every replica (this replica's own while Redis is away)."""
        if not self.reachable:
            return await self.local.used(key)
        try:
            seconds, micros = await self.client.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            return int(await self.client.zcount(f"{PREFIX}window:{key}", now_ms - int(WINDOW_S * 1000), "+inf"))
        except ERRORS as exc:
            self._lost(exc)
            return await self.local.used(key)

    async def usage(self, keys: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
        """Usage of `keys` and `models` summed over every replica (this replica's own while Redis is away)."""
        keys, models = list(keys), list(models)
        if self.reachable:
            ids = period_ids(time.time())
            scopes = [("key", n) for n in keys] + [("model", n) for n in models]
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for scope, name in scopes:
                        for span in SPANS:
                            pipe.hgetall(f"{PREFIX}usage:{scope}:{name}:{ids[span]}")
                    rows = iter(await pipe.execute())
            except ERRORS as exc:
                self._lost(exc)
            else:
                report: dict[str, Any] = {"shared": True, "day": ids["day"], "month": ids["month"]}
                report |= {"keys": {}, "models": {}}
                for scope, name in scopes:
                    report[scope + "s"][name] = {span: _usage(next(rows)).as_dict() for span in SPANS}
                return report
        return await self.local.usage(keys, models)

    async def reloading(self) -> int:
        """A reload was asked of this replica: a new shared config version, announced to the other replicas so
        they reload at the same time."""
        if self.reachable:
            try:
                version = int(await self.client.incr(VERSION_KEY))
                await self.client.publish(CHANNEL, self._event("reload", version=version))
            except ERRORS as exc:
                self._lost(exc)
            else:
                return version
        log.warning("this reload reaches this replica only: Redis at %s is unreachable", self.where)
        return self.config_version + 1

    def applied(self, version: int) -> None:
        """This replica now runs config `version`."""
        self.config_version = max(self.config_version, version)

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the fallback's windows of keys no longer configured (Redis's expire by themselves)."""
        self.local.forget(keep)

    async def aclose(self) -> None:
        """Send the usage not sent yet, stop listening and close the connections."""
        if self.reachable:
            await self._flush()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
        await self._listening.aclose()

    # --- events -------------------------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> str:
        return json.dumps({"origin": self.replica, "kind": kind, **fields})

    def _share_health(self, model: str, state: Shared, seconds: float, reason: str) -> None:
        if self.reachable:
            event = self._event("health", model=model, state=state, seconds=seconds, reason=reason)
            self._spawn(self._guarded(self.client.publish(CHANNEL, event)))

    async def _listen(self) -> None:
        """Apply other replicas' events; on a lost connection, wait for Redis and subscribe again."""
        while True:
            await self._reachable.wait()
            try:
                async with self._listening.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._catch_up()
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is not None:
                            self._on_event(message["data"])
            except ERRORS as exc:
                self._lost(exc)

    def _on_event(self, data: str) -> None:
        try:
            event = json.loads(data)
            kind, origin = event["kind"], event["origin"]
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a message on %s that is not a modelsat event: %.200r", CHANNEL, data)
            return
        if origin == self.replica:
            return
        if kind == "health" and self._board is not None:
            self._board.apply_shared(event["model"], event["state"], float(event["seconds"]), event["reason"])
        elif kind == "reload" and int(event["version"]) > self.config_version:
            self._spawn(self._follow(int(event["version"])))

    async def _catch_up(self) -> None:
        """Reload when another replica applied a newer config while this one was not listening."""
        version = int(await self.client.get(VERSION_KEY) or 0)
        if version > self.config_version:
            self._spawn(self._follow(version))

    async def _follow(self, version: int) -> None:
        async with self._follow_lock:
            if version <= self.config_version or self._reload_here is None:
                return
            log.info("config version %d was applied by another replica: reloading this one", version)
            if await self._reload_here():
                self.applied(version)

    # --- outages ------------------------------------------------------------------------------------------------

    def _lost(self, exc: BaseException) -> None:
        if not self.reachable:
            return
        self._reachable.clear()
        self._up.set(0)
        self._outages.inc()
        log.warning(
            "state: Redis at %s is unreachable (%s: %s); limits, budgets, usage and cool-downs fall back to this "
            "replica's memory until it answers again",
            self.where,
            type(exc).__name__,
            exc,
        )
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        lost, delay = time.monotonic(), 0.1
        while True:
            await asyncio.sleep(delay)
            try:
                await self.client.connection_pool.disconnect()  # pooled connections died with the old server
                await self.client.ping()
            except ERRORS:
                delay = min(2 * delay, self._max_backoff_s)
                continue
            self._reachable.set()
            self._up.set(1)
            log.info("state: Redis at %s is back after %.1f s; shared again", self.where, time.monotonic() - lost)
            return

    async def _guarded(self, call: Awaitable[Any]) -> None:
        try:
            await call
        except ERRORS as exc:
            self._lost(exc)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _usage(row: dict[str, str]) -> Usage:
    return Usage(
        int(row.get("requests", 0)),
        int(row.get("prompt_tokens", 0)),
        int(row.get("completion_tokens", 0)),
        float(row.get("cost_usd", 0.0)),
    )
