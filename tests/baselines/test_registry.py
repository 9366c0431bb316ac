import pandas as pd
import pytest

from modelsat.baselines.registry import BASELINES, Registry
from modelsat.errors import ConfigError
from modelsat.types import Router, TrainableRouter

EXPECTED = {
    "random",
    "best-single",
    "oracle",
    "per-task",
    "per-category",
    "knn",
    "tfidf-knn",
    "mlp",
    "random-forest",
    "matrix-factorisation",
    "routerdc",
    "card-lookup",
    "uniroute",
}
UNTRAINED = {"random", "oracle"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_entry_resolves_to_a_router_named_like_its_key(name: str, test_rows: pd.DataFrame) -> None:
    router = BASELINES.create(name, seed=0, outcomes=test_rows)
    assert router.name == name
    assert isinstance(router, Router)
    assert isinstance(router, TrainableRouter) == (name not in UNTRAINED)


def test_registry_lists_every_baseline() -> None:
    assert set(BASELINES.names()) == EXPECTED


def test_unknown_name_lists_available_and_suggests_close_match() -> None:
    with pytest.raises(ConfigError) as info:
        BASELINES.create("knnn")
    message = str(info.value)
    assert "unknown baseline 'knnn'" in message
    assert "Did you mean 'knn'" in message
    assert "routerdc" in message  # the available names are listed


def test_duplicate_and_malformed_registrations_fail() -> None:
    registry = Registry("router", {"a": "x.y:Z"})
    with pytest.raises(ConfigError, match="already registered"):
        registry.register("a", "x.y:W")
    with pytest.raises(ConfigError, match="module:Class"):
        registry.register("b", "no_colon")


def test_create_passes_only_accepted_keywords() -> None:
    router = BASELINES.create("knn", seed=3, outcomes=None, k=7)
    assert (router.seed, router.k) == (3, 7)


def test_entry_point_plugins_are_registered_on_first_lookup(monkeypatch) -> None:
    from importlib.metadata import EntryPoint

    from modelsat.baselines import registry as module

    plugin = EntryPoint("always-b", "modelsat.baselines.best_single:BestSingleRouter", "modelsat.routers")
    monkeypatch.setattr(module, "entry_points", lambda group: [plugin] if group == "plugins" else [])
    registry = Registry("router", {"a": "x.y:Z"}, entry_point_group="plugins")
    assert registry.names() == ["a", "always-b"]
    assert registry.get("always-b").name == "best-single"
