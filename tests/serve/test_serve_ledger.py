"""Usage periods: a budget renews at the next UTC midnight or first of the month; usage is counted per day,
month and in total, per key and per model."""

from datetime import UTC, datetime

import pytest

from modelsat.serve.keys import KeyEntry
from modelsat.serve.state.ledger import Ledger, Usage, budget_refusal, period_ids, seconds_left

NOW = datetime(2026, 12, 31, 23, 0, tzinfo=UTC).timestamp()


def test_periods_and_what_is_left_of_them() -> None:
    assert period_ids(NOW) == {"day": "2026-12-31", "month": "2026-12", "total": "total"}
    assert seconds_left("day", NOW) == 3600
    assert seconds_left("month", NOW) == 3600
    assert seconds_left("month", datetime(2026, 2, 1, tzinfo=UTC).timestamp()) == 28 * 86400


def test_the_ledger_counts_per_span_and_a_new_day_starts_empty() -> None:
    now = [NOW]
    ledger = Ledger(clock=lambda: now[0])
    ledger.record("team", "m", Usage(1, 10, 20, 0.5))
    ledger.record(None, "m", Usage(1, 1, 1, 0.25))
    assert ledger.spent("team", "day") == 0.5
    report = ledger.report(["team"], ["m"])
    assert report["models"]["m"]["total"] == {
        "requests": 2,
        "prompt_tokens": 11,
        "completion_tokens": 21,
        "cost_usd": 0.75,
    }
    now[0] += 7200  # 2027-01-01 01:00 UTC: a new day and a new month
    assert ledger.spent("team", "day") == 0.0 and ledger.spent("team", "month") == 0.0
    assert ledger.report(["team"], ["m"])["keys"]["team"]["total"]["cost_usd"] == 0.5


def test_a_budget_refuses_once_reached() -> None:
    key = KeyEntry(name="k", key="secret", budget_usd=1.0, budget_period="month")
    assert budget_refusal(key, 0.99, NOW) is None
    refusal = budget_refusal(key, 1.0, NOW)
    assert refusal is not None and refusal.kind == "budget" and refusal.wait_s == pytest.approx(3600)
    assert budget_refusal(KeyEntry(name="free", key="s"), 1e9, NOW) is None
