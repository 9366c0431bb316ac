"""Recent metrics: snapshots of the proxy's Prometheus counters every few seconds, so the dashboard can show the
last minutes (what changed since a snapshot) beside the totals since start-up.

A figure over a window is the counter now minus the counter in the newest snapshot at least `window_s` old (or
the first snapshot, taken when the app was built, while the proxy is younger than the window). Latency
percentiles over a window come from the histogram buckets' differences, interpolated within a bucket as
Prometheus's `histogram_quantile` does.

Example:
    history = MetricsHistory(metrics.registry)
    await history.start()                          # a snapshot every 5 s, 15 minutes kept
    window = history.window(300)                   # the last 5 minutes
    window.by_label("modelsat_routed_total", "model")   # {"mathstral-7B": 12.0, ...}
    window.quantile("modelsat_routing_seconds", 0.99)   # seconds, or None without observations
"""

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

Labels = frozenset[tuple[str, str]]
Snapshot = dict[tuple[str, Labels], float]


def snapshot(registry: CollectorRegistry) -> Snapshot:
    """Every sample of `registry` keyed by (sample name, labels); `_created` timestamps left out."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def histogram_quantile(buckets: Mapping[float, float], q: float) -> float | None:
    """The `q`-quantile of cumulative bucket counts {upper bound: count ≤ it} (Prometheus's rule: linear within
    the bucket holding the rank, 0 as the first bucket's lower bound, the last finite bound for +Inf); None
    without observations."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 0.0)
        lower, below = bound, count
    return lower


@dataclass(frozen=True)
class Window:
    """Counters' growth between two snapshots `seconds` apart."""

    now: Snapshot
    before: Snapshot
    seconds: float

    def value(self, name: str, labels: Mapping[str, str], since_start: bool = False) -> float:
        """One sample's growth over the window (its value now with `since_start`)."""
        key = (name, frozenset(labels.items()))
        return self.now.get(key, 0.0) - (0.0 if since_start else self.before.get(key, 0.0))

    def by_label(self, name: str, label: str, since_start: bool = False, **match: str) -> dict[str, float]:
        """Growth of sample `name` summed per value of `label`, over the samples whose labels include `match`."""
        sums: dict[str, float] = {}
        for (sample, labels), _ in self.now.items():
            found = dict(labels)
            if sample != name or label not in found or any(found.get(k) != v for k, v in match.items()):
                continue
            sums[found[label]] = sums.get(found[label], 0.0) + self.value(name, found, since_start)
        return sums

    def total(self, name: str, since_start: bool = False, **match: str) -> float:
        """Growth of sample `name` summed over the samples whose labels include `match`."""
        return sum(
            self.value(name, dict(labels), since_start)
            for sample, labels in self.now
            if sample == name and all(dict(labels).get(k) == v for k, v in match.items())
        )

    def quantile(self, histogram: str, q: float, since_start: bool = False, **match: str) -> float | None:
        """The `q`-quantile (seconds) of histogram `histogram`'s observations in the window, or None."""
        buckets = self.by_label(f"{histogram}_bucket", "le", since_start, **match)
        return histogram_quantile({float(le): count for le, count in buckets.items()}, q)


class MetricsHistory:
    """Snapshots of a registry every `every_s` seconds, the last `keep_s` seconds of them kept."""

    def __init__(
        self,
        registry: CollectorRegistry,
        every_s: float = 5.0,
        keep_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.every_s = every_s
        self.keep_s = keep_s
        self._clock = clock
        self._snapshots: deque[tuple[float, Snapshot]] = deque([(clock(), snapshot(registry))])
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        """Take a snapshot now; forget those older than `keep_s` (always keeping one at least that old)."""
        now = self._clock()
        self._snapshots.append((now, snapshot(self.registry)))
        while len(self._snapshots) > 1 and self._snapshots[1][0] <= now - self.keep_s:
            self._snapshots.popleft()

    def window(self, window_s: float) -> Window:
        """What changed over the last `window_s` seconds (less while the history is younger than that)."""
        now = self._clock()
        start, before = self._snapshots[0]
        for taken, values in self._snapshots:
            if taken > now - window_s:
                break
            start, before = taken, values
        return Window(snapshot(self.registry), before, now - start)

    async def start(self) -> None:
        """Sample every `every_s` seconds on the running event loop."""
        self._task = asyncio.create_task(self._run(), name="modelsat-metrics-history")

    async def aclose(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            self.sample()
