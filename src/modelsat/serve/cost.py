"""Cost trade-offs in the proxy (docs/cost.md): a named trade-off (`modelsat/cheap`) and/or the request's
`"modelsat": {"lambda": ..., "max_cost": ...}` field reorder the router's ranking by P(Yes) − λ·cost.

A request's cost is estimated from the configured backend prices: its messages' characters / 4 as
input tokens, plus `max_tokens` (the most it can cost) or `expected_output_tokens` as output tokens.
Models over `max_cost` are dropped from the ranking, fallbacks included; when none fits, the cheapest
model answers and the response says so.

A trade-off may state a target instead of λ (`{"quality": 0.95}`, `{"budget": 0.3}`, `{"strong_share": 0.5}`):
its λ is read off the router's calibrated targets (`targets.json` beside the router, `modelsat calibrate
--targets`; `cost/targets.py`), and a request's own λ or target replaces a named trade-off's.

Example:
    tradeoff = request_tradeoff(cfg.tradeoffs.get("cheap"), body)
    ranked = apply_tradeoff(ranking, "Solve 3x + 7 = 22.", tradeoff, cfg, max_tokens=None)
    ranked.ranking[0]  # (model, router score) of the best model under the trade-off
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from modelsat.cost.policy import ranking as tradeoff_ranking
from modelsat.cost.prices import ModelPrice, PriceTable
from modelsat.cost.targets import TargetChoice, TargetCurve, targets_file
from modelsat.errors import ConfigError, DataError
from modelsat.serve.api import APIError
from modelsat.serve.config import TARGET_FIELDS, ServeConfig, Tradeoff

BODY_FIELD = "modelsat"
MODE_KEY = "mode"  # `"modelsat": {"mode": "full"}`: the request's routing mode, not a trade-off field


@dataclass(frozen=True)
class CostedRanking:
    """The ranking under a trade-off, each model's estimated cost (USD), whether no model fitted max_cost, the λ
    applied, and the target it was read from."""

    ranking: list[tuple[str, float]]
    costs: dict[str, float]
    over_budget: bool
    lam: float
    target: TargetChoice | None = None


@functools.cache
def _curve(path: Path, mtime_ns: int) -> TargetCurve:
    return TargetCurve.load(path)


def target_curve(cfg: ServeConfig, mode: str | None) -> TargetCurve:
    """The router's calibrated targets for routing mode `mode` (re-read when the file changes).

    Raises:
        APIError: 400 when the router has no targets file for that mode.
    """
    path = Path(cfg.router) / targets_file(mode or "full")
    try:
        return _curve(path, path.stat().st_mtime_ns)
    except (OSError, DataError):
        message = f"a quality, budget or strong_share target needs {path} (`modelsat calibrate --targets`)"
        raise APIError(400, message, param=BODY_FIELD) from None


def target_lambda(
    tradeoff: Tradeoff, cfg: ServeConfig, mode: str | None, text: str
) -> tuple[float, TargetChoice | None]:
    """The λ of `tradeoff` for a request with this text: its own, or the one its target draws for the text on the
    router's curve (`TargetChoice.lam_for`).

    Raises:
        APIError: 400 without a targets file, or for a strong_share target of a zoo that is not two models.
    """
    target = tradeoff.target()
    if target is None:
        return tradeoff.lam, None
    try:
        choice = target_curve(cfg, mode).resolve(target)
    except ConfigError as exc:
        raise APIError(400, str(exc), param=BODY_FIELD) from None
    return choice.lam_for(text), choice


def request_tradeoff(named: Tradeoff | None, body: Mapping[str, Any]) -> Tradeoff | None:
    """The request's trade-off: the named one, with any field of the body's `modelsat` object overriding it."""
    options = body.get(BODY_FIELD)
    if isinstance(options, Mapping):  # the routing mode shares the field (`serve/routing.py`)
        options = {key: value for key, value in options.items() if key != MODE_KEY}
    if BODY_FIELD not in body or options == {}:
        return named
    try:
        given = Tradeoff.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(map(str, (BODY_FIELD, *first["loc"])))
        raise APIError(400, f"invalid field {param!r}: {first['msg']}", code="invalid_value", param=param) from None
    if named is None:
        return given
    update = given.model_dump(exclude_unset=True)
    if {"lam", *TARGET_FIELDS} & set(update):  # the request's λ or target replaces the named one's
        update = {"lam": 0.0, **dict.fromkeys(TARGET_FIELDS), **update}
    return named.model_copy(update=update)


def without_tradeoff(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body a backend gets: the `modelsat` field removed (backends may reject unknown fields)."""
    return {key: value for key, value in body.items() if key != BODY_FIELD}


def apply_tradeoff(
    ranking: list[tuple[str, float]],
    text: str,
    tradeoff: Tradeoff,
    cfg: ServeConfig,
    max_tokens: int | None,
    mode: str | None = None,
) -> CostedRanking:
    """Reorder `ranking` ((model, router log-odds) pairs) by P(Yes) − λ·cost, dropping models over max_cost; a
    target's λ is the one calibrated for routing mode `mode`.

    Raises:
        APIError: 400 when a candidate has no configured price, or a target cannot be read (`target_lambda`).
    """
    lam, choice = target_lambda(tradeoff, cfg, mode, text)
    models = [model for model, _ in ranking]
    unpriced = [m for m in models if cfg.backends[m].price is None]
    if unpriced:
        message = f"a cost trade-off needs prices; no price is configured for {', '.join(unpriced)}"
        raise APIError(400, message, param=BODY_FIELD)
    prices = PriceTable(
        models={m: ModelPrice(**cfg.backends[m].price.model_dump(), source="serve config") for m in models},
        expected_output_tokens=cfg.expected_output_tokens,
    )
    cost = prices.estimate([text], models, output_tokens=max_tokens)[0]
    p_yes = 1 / (1 + np.exp(-np.array([score for _, score in ranking])))
    order = tradeoff_ranking(p_yes, cost, lam, tradeoff.max_cost)
    over = tradeoff.max_cost is not None and bool(cost[order[0]] > tradeoff.max_cost)
    costs = dict(zip(models, cost.tolist(), strict=True))
    return CostedRanking([ranking[i] for i in order], costs, over, lam, choice)
