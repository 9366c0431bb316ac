"""The two routing modes of a router directory, named without importing any model code (serve's config reads them).

    fast   the request's encoder embedding and the accuracy readout (and prior head): no capability-LLM forward,
           the LLM not even loaded (`routing/fast.py`)
    full   the whole Model-SAT score: the capability LLM reads each candidate's capability tokens after the
           request, plus the readout (`routing/llm/scorer.py`)

`fast` is the default of a router with an accuracy readout: on the MMLU-Pro folds the readout alone routes as well
as the whole router (docs/router.md, "Routing modes") at a twelfth of the CPU. A router without one routes in
`full` unless told: `routers/routerbench`'s prior head alone routes 22.9 points under the whole router.

Example:
    mode = check_mode("fast")
    mode = default_mode(cfg.router)  # "fast" for routers/default, "full" for routers/routerbench
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
    """The mode a router routes in unless told: fast with an accuracy readout, full without (measured: a prior head
    alone, or nothing but the LLM, does not route like the whole router)."""
    return DEFAULT_MODE if cfg.accuracy_readout else "full"
