"""`state: memory`: limits, budgets and usage in this process only (one replica, or a replica whose Redis is away).

Example:
    state = MemoryState()
    refusal = await state.admit(key)           # None, or Refusal("requests" | "budget", wait_s)
    state.record("team-math", "mathstral-7B", Usage(1, 120, 30, 0.0004))
"""

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from modelsat.serve.health import HealthBoard
from modelsat.serve.keys import KeyEntry, RateLimiter
from modelsat.serve.state.ledger import Ledger, Refusal, Usage, budget_refusal


class MemoryState:
    """Per-process state: a sliding-window limiter per key and a usage ledger; reloads reach this process only."""

    shared = False
    reachable = False

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.limiter = RateLimiter(clock)
        self.ledger = Ledger(wall)
        self._wall = wall
        self.config_version = 0

    async def start(self, board: HealthBoard, reload_here: Callable[[], Awaitable[bool]]) -> None:
        """Nothing to connect: cool-downs stay on `board`, reloads on this process."""

    async def admit(self, key: KeyEntry) -> Refusal | None:
        """Count a request of `key` unless its budget is spent or its limit reached."""
        return self.admit_now(key)

    def admit_now(self, key: KeyEntry) -> Refusal | None:
        """`admit`, synchronously: the budget first (a refused request takes no place in the limit's window)."""
        if key.budget_usd is not None:
            refusal = budget_refusal(key, self.ledger.spent(key.name, key.budget_period), self._wall())
            if refusal is not None:
                return refusal
        wait = self.limiter.admit(key.name, key.rpm)
        return None if wait is None else Refusal("requests", wait)

    def record(self, key: str | None, model: str, usage: Usage) -> None:
        """Count an answered request."""
        self.ledger.record(key, model, usage)

    async def used(self, key: str) -> int:
        """Requests `key` was admitted in the last 60 s in this process."""
        return self.limiter.used(key)

    async def usage(self, keys: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
        """Usage of `keys` and `models` (this process's)."""
        return {"shared": False, **self.ledger.report(keys, models)}

    async def reloading(self) -> int:
        """A reload was asked of this process: the config version it will run."""
        return self.config_version + 1

    def applied(self, version: int) -> None:
        """This process now runs config `version`."""
        self.config_version = max(self.config_version, version)

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the limit windows of keys no longer configured."""
        self.limiter.forget(keep)

    async def aclose(self) -> None:
        """Nothing to close."""
