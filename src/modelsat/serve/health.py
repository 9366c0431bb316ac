"""Backend cool-downs: a backend that keeps failing is taken out of every pick for a while, then let back in by
one probe request (the "cool-down" of a gateway's three failure tools: retry, fallback, cool-down).

A backend is `up` until `failures` failures (timeout, connection error, 5xx, a reply that is not JSON, a
stream broken off) fall within `window_s` seconds; it is then `cooling` for `cooldown_s` seconds, skipped
by every request, so a backend that hangs costs `timeout_s` to a few requests instead of to all of them.
When the cool-down ends it is `probing`: the proxy sends it one small request (`Prober`) and it is `up`
again on success or cools down again on failure. Failures and successes reported by requests that were
already in flight while it cooled change nothing; only the probe decides.

Example:
    board = HealthBoard(Cooldown(failures=3, window_s=30, cooldown_s=10))
    board.sync(["mathstral-7B"])
    board.failed("mathstral-7B", "timeout")      # x3 within 30 s -> cooling
    board.available("mathstral-7B")              # False for 10 s, then a probe decides
"""

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from modelsat.serve.backends import BackendRejected, BackendUnavailable
from modelsat.serve.config import Cooldown

log = logging.getLogger(__name__)

State = Literal["up", "cooling", "probing"]
Shared = Literal["failed", "cooling", "up"]  # what one replica tells the others (a failure, a cool-down, a probe)
PROBE_BODY: dict[str, Any] = {"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1, "temperature": 0}


@dataclass
class BackendHealth:
    """The cool-down state of one backend."""

    state: State = "up"
    recent: deque[float] = field(default_factory=deque)  # times of failures while up, within the window
    cooling_until: float = 0.0
    last_error: str | None = None
    cooldowns: int = 0


class HealthBoard:
    """Cool-down state of every served backend, shared by all requests (and kept across reloads)."""

    def __init__(
        self,
        rule: Cooldown,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, State], None] | None = None,
    ) -> None:
        self.rule = rule
        self._clock = clock
        self._on_change = on_change
        self._health: dict[str, BackendHealth] = {}
        # told of every failure this board counts, cool-down it starts and probe it settles (shared state tells the
        # other replicas, whose boards `apply_shared` them)
        self.share: Callable[[str, Shared, float, str], None] | None = None

    def sync(self, models: Iterable[str], reset: Iterable[str] = (), rule: Cooldown | None = None) -> None:
        """Track exactly `models`; forget the state of `reset` (a backend whose config changed)."""
        self.rule = rule or self.rule
        models = list(models)
        for name in set(self._health) - set(models):
            del self._health[name]
        for name in reset:
            self._health.pop(name, None)
        for name in models:
            if name not in self._health:
                self._health[name] = BackendHealth()
                self._changed(name, "up")

    def available(self, model: str) -> bool:
        """Whether requests may use `model` now (neither cooling down nor waiting for its probe)."""
        return self._health[model].state == "up"

    def retry_after(self, models: Iterable[str]) -> int:
        """Whole seconds until the first of `models` leaves its cool-down (at least 1)."""
        now = self._clock()
        waits = [self._health[m].cooling_until - now for m in models if self._health[m].state == "cooling"]
        return max(1, math.ceil(min(waits, default=1.0)))

    def failed(self, model: str, reason: str) -> None:
        """A request to `model` failed; starts a cool-down when failures reach the threshold within the window."""
        health = self._health.get(model)
        if health is None or health.state != "up":
            return
        self._share(model, "failed", 0.0, reason)
        if self._count(model, health, reason):
            self._share(model, "cooling", self.rule.cooldown_s, reason)

    def _count(self, model: str, health: BackendHealth, reason: str) -> bool:
        """Count a failure of `model`, up; True when it started a cool-down."""
        now = self._clock()
        health.last_error = reason
        health.recent.append(now)
        while health.recent and health.recent[0] < now - self.rule.window_s:
            health.recent.popleft()
        if len(health.recent) < self.rule.failures:
            return False
        self._cool(model, health, now)
        log.warning(
            "backend %s cooling down for %.0f s after %d failures in %.0f s (last: %s)",
            model,
            self.rule.cooldown_s,
            self.rule.failures,
            self.rule.window_s,
            reason,
        )
        return True

    def due_probes(self) -> list[str]:
        """Backends whose cool-down has ended; each becomes `probing` (one probe at a time)."""
        now = self._clock()
        due = [m for m, h in self._health.items() if h.state == "cooling" and h.cooling_until <= now]
        for model in due:
            self._health[model].state = "probing"
            self._changed(model, "probing")
        return due

    def probed(self, model: str, ok: bool, reason: str = "") -> None:
        """The probe's result: `up` again, or another cool-down."""
        health = self._health.get(model)
        if health is None or health.state != "probing":
            return
        if ok:
            health.state = "up"
            health.recent.clear()
            self._changed(model, "up")
            self._share(model, "up", 0.0, "")
            log.info("backend %s is back: its probe answered", model)
        else:
            health.last_error = reason
            self._cool(model, health, self._clock())
            self._share(model, "cooling", self.rule.cooldown_s, reason)
            log.warning("backend %s failed its probe (%s); cooling down again", model, reason)

    def apply_shared(self, model: str, state: Shared, seconds: float, reason: str) -> None:
        """Another replica saw `model` fail (counted here as a failure of this replica's), cooled it down for
        `seconds` (because of `reason`), or saw its probe answer (`up`)."""
        health = self._health.get(model)
        if health is None:
            return
        if state == "failed" and health.state == "up":
            self._count(model, health, reason)
        elif state == "cooling" and health.state != "cooling":
            health.last_error = reason
            self._cool(model, health, self._clock(), seconds)
            log.warning("backend %s cooling down for %.0f s: another replica saw it fail (%s)", model, seconds, reason)
        elif state == "up" and health.state != "up":
            health.state = "up"
            health.recent.clear()
            self._changed(model, "up")
            log.info("backend %s is back: another replica's probe answered", model)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each backend's state for /v1/backends: state, seconds of cool-down left, failures in the window."""
        now = self._clock()
        return {
            name: {
                "state": h.state,
                "cooldown_left_s": round(max(0.0, h.cooling_until - now), 2) if h.state == "cooling" else 0.0,
                "recent_failures": sum(t >= now - self.rule.window_s for t in h.recent),
                "cooldowns": h.cooldowns,
                "last_error": h.last_error,
            }
            for name, h in self._health.items()
        }

    def _cool(self, model: str, health: BackendHealth, now: float, seconds: float | None = None) -> None:
        health.state = "cooling"
        health.cooling_until = now + (self.rule.cooldown_s if seconds is None else seconds)
        health.recent.clear()
        health.cooldowns += 1
        self._changed(model, "cooling")

    def _share(self, model: str, state: Shared, seconds: float, reason: str) -> None:
        if self.share is not None:
            self.share(model, state, seconds, reason)

    def _changed(self, model: str, state: State) -> None:
        if self._on_change is not None:
            self._on_change(model, state)


class Prober:
    """Sends one small request to each backend whose cool-down has ended, every `tick_s` seconds.

    `backends()` returns the backends of the set now serving (it changes with reloads).
    """

    def __init__(self, board: HealthBoard, backends: Callable[[], Mapping[str, Any]], tick_s: float = 0.5) -> None:
        self._board = board
        self._backends = backends
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start probing on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="modelsat-prober")

    async def aclose(self) -> None:
        """Stop probing and cancel probes in flight."""
        tasks = [t for t in (self._task, *self._probes) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            backends = self._backends()
            for model in self._board.due_probes():
                if model not in backends:
                    continue
                task = asyncio.create_task(self._probe(model, backends[model]), name=f"modelsat-probe-{model}")
                self._probes.add(task)
                task.add_done_callback(self._probes.discard)

    async def _probe(self, model: str, backend: Any) -> None:
        try:
            await asyncio.wait_for(backend.complete(PROBE_BODY), self._board.rule.probe_timeout_s)
        except TimeoutError:
            self._board.probed(model, False, "timeout")
        except BackendRejected:
            self._board.probed(model, True)  # a 4xx is an answer: the backend is up
        except BackendUnavailable as exc:
            self._board.probed(model, False, exc.reason)
        except Exception as exc:  # noqa: BLE001 - a probe must always end the probing state
            log.exception("probe of %s crashed", model)
            self._board.probed(model, False, type(exc).__name__)
        else:
            self._board.probed(model, True)
