"""Name → router class registry with lazy `"module:Class"` targets (no torch/sklearn until used).

Unknown names raise a `ConfigError` listing the available names and the closest matches. Other
packages add routers through the entry-point group `modelsat.routers` (name = "module:Class"),
which `modelsat evaluate --baselines NAME` then finds.
`create(name, **context)` passes each constructor only the keywords it accepts, so one call site
can offer `seed=` and `outcomes=` (the oracle's test outcomes) to every method.

Example:
    BASELINES.names()                      # ['best-single', 'knn', ...]
    router = BASELINES.create("knn", seed=0)
    BASELINES.register("my-router", "mypackage.routers:MyRouter")
"""

import importlib
import inspect
from difflib import get_close_matches
from importlib.metadata import entry_points
from typing import Any

from modelsat.errors import ConfigError


class Registry:
    """Names mapped to lazily imported classes."""

    def __init__(self, kind: str, targets: dict[str, str] | None = None, entry_point_group: str | None = None):
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._group = entry_point_group
        for name, target in (targets or {}).items():
            self.register(name, target)

    def _load_plugins(self) -> None:
        """Register the entry points of `entry_point_group` once (on first lookup)."""
        group, self._group = self._group, None
        for point in entry_points(group=group) if group else ():
            self.register(point.name, point.value)

    def register(self, name: str, target: str) -> None:
        """Add `name` → `"module:attr"`; a name registered twice is an error."""
        if name in self._targets:
            raise ConfigError(f"{self.kind} {name!r} is already registered (as {self._targets[name]})")
        if ":" not in target:
            raise ConfigError(f"{self.kind} target {target!r} must look like 'package.module:Class'")
        self._targets[name] = target

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_plugins()
        return sorted(self._targets)

    def check(self, name: str) -> str:
        """Return `name` if registered, else raise a `ConfigError` with suggestions."""
        self._load_plugins()
        if name not in self._targets:
            close = get_close_matches(name, self.names(), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConfigError(f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}")
        return name

    def get(self, name: str) -> type:
        """Import and return the class registered as `name`."""
        module, _, attr = self._targets[self.check(name)].partition(":")
        return getattr(importlib.import_module(module), attr)

    def create(self, name: str, **context: Any) -> Any:
        """Instantiate `name`, passing only the keywords of `context` that its constructor accepts."""
        cls = self.get(name)
        params = inspect.signature(cls).parameters
        accepted = {k: v for k, v in context.items() if k in params}
        return cls(**accepted)


BASELINES = Registry(
    "baseline",
    {
        "random": "modelsat.baselines.random:RandomRouter",
        "best-single": "modelsat.baselines.best_single:BestSingleRouter",
        "oracle": "modelsat.baselines.oracle:OracleRouter",
        "per-task": "modelsat.baselines.per_task:PerTaskRouter",
        "per-category": "modelsat.baselines.per_task:PerCategoryRouter",
        "knn": "modelsat.baselines.knn:KnnRouter",
        "tfidf-knn": "modelsat.baselines.tfidf_knn:TfidfKnnRouter",
        "mlp": "modelsat.baselines.mlp:MlpRouter",
        "random-forest": "modelsat.baselines.random_forest:RandomForestRouter",
        "matrix-factorisation": "modelsat.baselines.matrix_factorisation:MatrixFactorisationRouter",
        "routerdc": "modelsat.baselines.routerdc:RouterDcRouter",
        "card-lookup": "modelsat.baselines.zero_shot:CardLookupRouter",
        "uniroute": "modelsat.baselines.zero_shot:UniRouteRouter",
    },
    entry_point_group="modelsat.routers",
)
