"""`benchmarks/chaos_causes.py`: each failed request of the chaos soak gets its cause, and only a failure with no
fault in force on its backends, in the reload window, is blamed on the reload."""

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("chaos_causes", ROOT / "benchmarks" / "chaos_causes.py")
causes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(causes)

WINDOW = (100.0, 102.0)


@dataclass
class Failed:
    """The fields of a chaos.py `Outcome` that `cause_of` reads."""

    start: float
    end: float
    asked_model: str | None = None
    model: str | None = None
    tried: str = ""
    kind: str = "all_failed_502"
    status: int | None = 502
    stream: bool = False
    asked: str = "modelsat"
    detail: str = ""


def cause(outcome: Failed, faults=(), health=()) -> "causes.Cause":
    models = causes.involved(outcome.asked_model, outcome.model, outcome.tried)
    return causes.cause_of(outcome, models, list(faults), list(health), WINDOW, t0=0.0)


def test_a_fault_in_force_on_a_tried_model_explains_a_failure_in_the_reload_window() -> None:
    failed = Failed(99.0, 101.0, tried="mathstral-7B=timeout, Qwen=cooling-down")
    found = cause(failed, faults=[causes.FaultSpan("Qwen", "kill", 60.0, math.inf)])
    assert (found.cause, found.phase, found.fault) == ("fault", "around", "Qwen:kill")


def test_a_backend_out_since_before_the_reload_window_explains_a_failure_in_it() -> None:
    failed = Failed(100.5, 100.6, asked_model="mathstral-7B", tried="mathstral-7B=cooling-down")
    found = cause(failed, health=[causes.HealthSpan("mathstral-7B", 90.0, 110.0, "stream-idle")])
    assert (found.cause, found.fault) == ("cooling", "mathstral-7B out since 90 s (stream-idle)")


def test_a_failure_in_the_reload_window_with_nothing_in_force_is_the_reloads() -> None:
    failed = Failed(100.5, 101.5, asked_model="mathstral-7B", tried="mathstral-7B=timeout")
    ended = causes.FaultSpan("mathstral-7B", "hang", 40.0, 80.0)
    began_in_window = causes.HealthSpan("mathstral-7B", 100.8, 105.0, "timeout")
    found = cause(failed, faults=[ended], health=[began_in_window])
    assert (found.cause, found.phase, found.fault) == ("reload", "around", "none")
    late = cause(Failed(150.0, 152.0, asked_model="mathstral-7B", tried="mathstral-7B=timeout"))
    assert (late.cause, late.phase) == ("backend", "after")


def test_health_spans_follow_the_proxy_samples() -> None:
    samples = [
        (1.0, {"a": {"state": "up"}}),
        (2.0, {"a": {"state": "cooling", "last_error": "timeout"}}),
        (3.0, {"a": {"state": "probing", "last_error": "timeout"}}),
        (4.0, {"a": {"state": "up"}}),
        (5.0, {"a": {"state": "cooling", "last_error": "unreachable"}}),
    ]
    spans = causes.health_spans(samples)
    assert [(s.start, s.end, s.last_error) for s in spans] == [(2.0, 4.0, "timeout"), (5.0, math.inf, "unreachable")]
