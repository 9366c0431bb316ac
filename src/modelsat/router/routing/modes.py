"""The two routing modes of a router directory, named without importing any model code (serve's config reads them).

    fast   the request's encoder embedding and the accuracy readout (and prior head): no capability-LLM forward,
           the LLM not even loaded (`routing/fast.py`)
    full   the whole Model-SAT score: the capability LLM reads each candidate's capability tokens after the
           request, plus the readout (`routing/llm/scorer.py`)

`fast` is the default: on every zoo measured, `full` routes no better by a 95 % interval that excludes 0
(docs/router.md, "Routing modes"), at about a tenth of the latency.

Example:
    mode = check_mode("fast")
"""

from typing import Literal

from modelsat.errors import ConfigError

RoutingMode = Literal["fast", "full"]
MODES: tuple[RoutingMode, ...] = ("fast", "full")
DEFAULT_MODE: RoutingMode = "fast"


def check_mode(mode: str) -> RoutingMode:
    """`mode` when it is a routing mode, else a `ConfigError` naming the choices."""
    if mode not in MODES:
        raise ConfigError(f"unknown routing mode {mode!r}: use one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]
