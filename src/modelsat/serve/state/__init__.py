"""What replicas of the proxy share: per-key limits and budgets, usage, backend cool-downs and reloads.

`state: memory` (the default) keeps it in this process (`MemoryState`); `state: redis://HOST:PORT/DB` keeps it in
Redis for every replica that names it (`RedisState`, with this process's memory as the fallback while Redis is
away). The app talks to either through `SharedState`.

Example:
    state = open_state(cfg.state, metrics.registry)       # ConfigError naming `state` when Redis is unreachable
    await state.start(board, reload_here)
    refusal = await state.admit(key)                      # None, or Refusal("requests" | "budget", wait_s)
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from modelsat.errors import ConfigError
from modelsat.serve.health import HealthBoard
from modelsat.serve.keys import KeyEntry
from modelsat.serve.state.ledger import Refusal, Usage
from modelsat.serve.state.memory import MemoryState
from modelsat.serve.state.url import MEMORY

__all__ = ["MemoryState", "Refusal", "SharedState", "Usage", "open_state"]


class SharedState(Protocol):
    """The state a proxy keeps with its peers (or alone)."""

    shared: bool  # kept with other replicas (a Redis), not in this process only
    reachable: bool  # shared now: False for memory, and while Redis is away
    config_version: int

    async def start(self, board: HealthBoard, reload_here: Callable[[], Awaitable[bool]]) -> None:
        """Begin sharing `board`'s cool-downs; `reload_here` reloads this replica when another one reloaded."""

    async def admit(self, key: KeyEntry) -> Refusal | None:
        """Count a request of `key`; a refusal when its budget is spent or its limit reached."""

    def record(self, key: str | None, model: str, usage: Usage) -> None:
        """Count an answered request of `key` (None: no API keys) to `model`."""

    async def used(self, key: str) -> int:
        """Requests `key` was admitted in the last 60 s (by every replica, when shared)."""

    async def usage(self, keys: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
        """Requests, tokens and cost of `keys` and `models`: this day, this month and in total."""

    async def reloading(self) -> int:
        """A reload was asked of this replica: the config version it is about to apply (shared: every replica is
        told to reload too)."""

    def applied(self, version: int) -> None:
        """This replica now runs config `version` (reported by /v1/backends)."""

    def forget(self, keep: Iterable[str]) -> None:
        """Drop what is kept for keys not in `keep`."""

    async def aclose(self) -> None:
        """Release connections and background tasks."""


def open_state(url: str, registry: CollectorRegistry) -> SharedState:
    """The state `url` names (serve.yaml's `state`); a Redis must answer a ping now.

    Raises:
        ConfigError: naming the field `state` when its Redis does not answer.
    """
    if url == MEMORY:
        return MemoryState()
    from redis import Redis
    from redis.exceptions import RedisError

    from modelsat.serve.state.redis_store import RedisState, where

    try:
        with Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as probe:
            probe.ping()
    except (RedisError, OSError) as exc:
        raise ConfigError(
            f"state: cannot reach Redis at {where(url)} ({exc}); start redis-server there or fix `state` in serve.yaml"
        ) from None
    return RedisState(url, registry)
