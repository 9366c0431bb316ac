"""The training time budget: plans from measured step and validation times, never past the configured steps."""

import pytest

from modelsat.router.training.budget import TimeBudget


def test_without_timings_the_plan_stands():
    assert TimeBudget(deadline=100.0, eval_every=5, planned=300).last_step(step=0, now=0.0) == 300


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
    budget = TimeBudget(deadline=100.0, eval_every=5, planned=planned)
    for _ in range(10):
        budget.record_step(2.0)
    budget.record_eval(10.0)
    assert budget.last_step(step=10, now=now) == expected


def test_uses_recent_step_times():
    budget = TimeBudget(deadline=1000.0, eval_every=1000, planned=10_000)
    for seconds in [50.0] * 5 + [1.0] * 20:  # the first steps were slow (warm-up), the latest are fast
        budget.record_step(seconds)
    assert budget.last_step(step=25, now=0.0) == 25 + 1000


def test_a_plan_cut_short_by_slow_first_steps_grows_back_to_the_configured_steps():
    budget = TimeBudget(deadline=2000.0, eval_every=100, planned=500)
    for _ in range(10):  # a store paging in from disk: 10 s a step
        budget.record_step(10.0)
    first = budget.last_step(step=10, now=100.0)
    assert first == 10 + 190  # (2000 − 100) s / 10 s
    for _ in range(90):  # then 1 s a step
        budget.record_step(1.0)
    budget.record_eval(5.0)
    assert budget.last_step(step=100, now=250.0) == 500  # room for 1,700 more; capped at the configured 500
