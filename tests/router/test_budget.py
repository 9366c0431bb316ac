"""The training time budget: plans from measured step and validation times, never past the plan."""

import pytest

from modelsat.router.budget import TimeBudget


def test_without_timings_the_plan_stands():
    assert TimeBudget(deadline=100.0, eval_every=5).last_step(step=0, planned=300, now=0.0) == 300


@pytest.mark.parametrize(
    ("now", "planned", "expected"),
    [
        (0.0, 1000, 30),  # 100 s left − 2 × 10 s reserved = 80 s at 2 s per step + 10 s per 5 steps = 20 steps
        (0.0, 15, 15),  # the budget holds the whole plan
        (95.0, 1000, 10),  # the deadline is closer than the reserve: stop now
        (200.0, 1000, 10),  # past the deadline
    ],
)
def test_plans_the_steps_that_fit_before_the_deadline(now, planned, expected):
    budget = TimeBudget(deadline=100.0, eval_every=5)
    for _ in range(10):
        budget.record_step(2.0)
    budget.record_eval(10.0)
    assert budget.last_step(step=10, planned=planned, now=now) == expected


def test_uses_recent_step_times():
    budget = TimeBudget(deadline=1000.0, eval_every=1000)
    for seconds in [50.0] * 5 + [1.0] * 20:  # the first steps were slow (warm-up), the latest are fast
        budget.record_step(seconds)
    assert budget.last_step(step=25, planned=10_000, now=0.0) == 25 + 1000
