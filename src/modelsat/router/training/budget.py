"""A training run's time budget (`train.max_minutes`): how many more steps fit before the deadline.

Steps and validations are timed as they run; `last_step` plans the rest of the run so that the
remaining steps and the validations among them end before the deadline, with two validations'
time kept back for the final validation and for writing and calibrating the router. Each plan is
made afresh from the latest step times and capped only by the configured steps, so a plan cut short
by slow first steps (a prefix store paging in from disk) grows back once steps speed up.

Example:
    budget = TimeBudget(deadline=time.time() + 45 * 60, eval_every=200, planned=1000)
    budget.record_step(2.1); budget.record_eval(60.0)
    total = budget.last_step(step=10, now=time.time())
"""

from dataclasses import dataclass, field
from statistics import median

RECENT_STEPS = 20  # step times the plan looks at (the median of the latest ones)


@dataclass
class TimeBudget:
    """Deadline (a `time.time()` value), the configured number of steps and the timings seen so far."""

    deadline: float
    eval_every: int
    planned: int
    step_seconds: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)

    def record_step(self, seconds: float) -> None:
        """One training step took `seconds`."""
        self.step_seconds.append(seconds)

    def record_eval(self, seconds: float) -> None:
        """One validation took `seconds`."""
        self.eval_seconds.append(seconds)

    def last_step(self, step: int, now: float) -> int:
        """The step to stop at: `planned`, or fewer when the rest would overrun the deadline (never below `step`)."""
        if not self.step_seconds:
            return self.planned
        step_s = median(self.step_seconds[-RECENT_STEPS:])
        eval_s = max(self.eval_seconds, default=0.0)
        left = self.deadline - now - 2 * eval_s  # the final validation, and a margin for the end
        fit = int(left // (step_s + eval_s / self.eval_every)) if left > 0 else 0
        return max(step, min(self.planned, step + fit))
