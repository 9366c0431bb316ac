"""Shared interfaces: every routing method (Model-SAT and each baseline) is a `Router`.

Example:
    scores = router.score(queries, ["Phi-3-mini-4k-instruct", "mathstral-7B"])  # (n_queries, n_models)
    best = [models[i] for i in scores.argmax(axis=1)]
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from modelsat.router.routing.routing_text import RoutingTextReader


@runtime_checkable
class Router(Protocol):
    """Scores candidates for queries; higher is better. `queries` has at least query_id and prompt
    (and task/source/category where the data has them)."""

    name: str

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Return a float array of shape (len(queries), len(models))."""
        ...


@runtime_checkable
class TrainableRouter(Router, Protocol):
    """A router fitted on the train split's outcomes (long format, rows of the chosen zoo)."""

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "TrainableRouter":
        """Fit on `train` and return self."""
        ...


@runtime_checkable
class InstructionScorer(Protocol):
    """What `serve` and `route` need from a loaded router: scores for raw instruction texts, and the rule that
    reads a chat into the routing text it scores.

    `modelsat.router.routing.service.load_router(router_dir, cards_path)` returns one; tests may use fakes. A scorer
    with routing modes also takes `mode=` ("fast" or "full"); `serve` passes it only when a request asks for one.
    """

    models: list[str]
    reader: "RoutingTextReader"

    def score_instructions(self, instructions: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """Return a float array (len(instructions), len(models or self.models)); higher = better."""
        ...
