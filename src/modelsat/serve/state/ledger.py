"""Usage per API key and per model (requests, tokens, USD), by UTC day, by UTC month and in total, and the
budget check of a key against its spend.

Example:
    ledger = Ledger()
    ledger.record("team-math", "mathstral-7B", Usage(1, 120, 30, 0.0004))
    ledger.spent("team-math", "day")         # 0.0004
    budget_refusal(key, spent=5.2)          # Refusal("budget", seconds until the period renews, 5.2) or None
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from modelsat.serve.keys import KeyEntry

Period = Literal["day", "month"]
SPANS = ("day", "month", "total")


@dataclass
class Usage:
    """Counts of answered requests, their reported tokens and their estimated cost (USD)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, other: "Usage") -> None:
        """Add `other`'s counts to these."""
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd

    def as_dict(self) -> dict[str, Any]:
        """The counts for JSON, the cost rounded to a millionth of a dollar."""
        return asdict(self) | {"cost_usd": round(self.cost_usd, 6)}


@dataclass(frozen=True)
class Refusal:
    """Why a key's request is refused before routing: its rate limit or its budget; `wait_s` until it is not."""

    kind: Literal["requests", "budget"]
    wait_s: float
    spent_usd: float = 0.0


def period_ids(now: float) -> dict[str, str]:
    """The day (`2026-12-06`), the month (`2026-12`) and `total` that a moment (epoch seconds) counts into."""
    day = datetime.fromtimestamp(now, UTC)
    return {"day": day.strftime("%Y-%m-%d"), "month": day.strftime("%Y-%m"), "total": "total"}


def seconds_left(period: Period, now: float) -> float:
    """Seconds until the UTC day or month of `now` ends (when a spent budget renews)."""
    moment = datetime.fromtimestamp(now, UTC)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1) if period == "day" else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (end - moment).total_seconds()


def budget_refusal(key: KeyEntry, spent: float, now: float) -> Refusal | None:
    """A refusal when `key` has a budget and `spent` (USD, this period) has reached it."""
    if key.budget_usd is None or spent < key.budget_usd:
        return None
    return Refusal("budget", seconds_left(key.budget_period, now), spent)


class Ledger:
    """Usage per key and per model in this process (the whole truth with `state: memory`)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._usage: defaultdict[tuple[str, str, str], Usage] = defaultdict(Usage)

    def record(self, key: str | None, model: str, usage: Usage) -> None:
        """Count one answered request of `key` (None: no API keys) to `model`."""
        ids = period_ids(self._clock())
        for span in SPANS:
            self._usage["model", model, ids[span]].add(usage)
            if key is not None:
                self._usage["key", key, ids[span]].add(usage)

    def spent(self, key: str, period: Period) -> float:
        """USD spent by `key` in the current UTC day or month."""
        found = self._usage.get(("key", key, period_ids(self._clock())[period]))
        return found.cost_usd if found is not None else 0.0

    def report(self, keys: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
        """`{"keys": {name: {"day", "month", "total"}}, "models": {...}}` for the current day and month."""
        ids = period_ids(self._clock())

        def spans(scope: str, name: str) -> dict[str, Any]:
            return {span: self._usage.get((scope, name, ids[span]), Usage()).as_dict() for span in SPANS}

        return {
            "day": ids["day"],
            "month": ids["month"],
            "keys": {name: spans("key", name) for name in keys},
            "models": {name: spans("model", name) for name in models},
        }
