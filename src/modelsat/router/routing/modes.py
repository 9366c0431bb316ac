"""The two routing modes of a router directory, named without importing any model code (serve's config reads them).

    fast   the request's encoder embedding and the accuracy readout (and prior head): no capability-LLM forward,
           the LLM not even loaded (`routing/fast.py`)
    full   the whole Model-SAT score: the capability LLM reads each candidate's capability tokens after the
           request, plus the readout (`routing/llm/scorer.py`)

`fast` is the default wherever the router has a term besides the LLM's (an accuracy readout or a prior head): on
every zoo measured, `full` routes no better by a 95 % interval that excludes 0 (docs/router.md, "Routing modes"),
at a fraction of the latency. A router scored by its LLM alone routes in `full`.

Example:
    mode = check_mode("fast")
    mode = default_mode(cfg.router)  # "fast" for routers/default, "full" for routers/small-12
"""

from typing import Literal

from modelsat.errors import ConfigError
from modelsat.router.config import RouterConfig

RoutingMode = Literal["fast", "full"]
MODES: tuple[RoutingMode, ...] = ("fast", "full")
DEFAULT_MODE: RoutingMode = "fast"


def check_mode(mode: str) -> RoutingMode:
    """`mode` when it is a routing mode, else a `ConfigError` naming the choices."""
    if mode not in MODES:
        raise ConfigError(f"unknown routing mode {mode!r}: use one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def has_fast_terms(cfg: RouterConfig) -> bool:
    """Whether a router's score has terms besides the LLM's log-odds (accuracy readout, prior head): fast mode's."""
    return cfg.accuracy_readout or cfg.prior_head


def default_mode(cfg: RouterConfig) -> RoutingMode:
    """The mode a router routes in unless told: fast when it can, full for a router scored by its LLM alone."""
    return DEFAULT_MODE if has_fast_terms(cfg) else "full"
