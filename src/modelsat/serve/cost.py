"""Cost trade-offs in the proxy (docs/cost.md): a named trade-off (`modelsat/cheap`) and/or the request's
`"modelsat": {"lambda": ..., "max_cost": ...}` field reorder the router's ranking by P(Yes) − λ·cost.

A request's cost is estimated from the configured backend prices: its messages' characters / 4 as
input tokens, plus `max_tokens` (the most it can cost) or `expected_output_tokens` as output tokens.
Models over `max_cost` are dropped from the ranking, fallbacks included; when none fits, the cheapest
model answers and the response says so.

Example:
    tradeoff = request_tradeoff(cfg.tradeoffs.get("cheap"), body)
    ranked = apply_tradeoff(ranking, "Solve 3x + 7 = 22.", tradeoff, cfg, max_tokens=None)
    ranked.ranking[0]  # (model, router score) of the best model under the trade-off
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from modelsat.cost.policy import ranking as tradeoff_ranking
from modelsat.cost.prices import ModelPrice, PriceTable
from modelsat.serve.api import APIError
from modelsat.serve.config import ServeConfig, Tradeoff

BODY_FIELD = "modelsat"
MODE_KEY = "mode"  # `"modelsat": {"mode": "full"}`: the request's routing mode, not a trade-off field


@dataclass(frozen=True)
class CostedRanking:
    """The ranking under a trade-off, each model's estimated cost (USD), and whether no model fitted max_cost."""

    ranking: list[tuple[str, float]]
    costs: dict[str, float]
    over_budget: bool


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
    return given if named is None else named.model_copy(update=given.model_dump(exclude_unset=True))


def without_tradeoff(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body a backend gets: the `modelsat` field removed (backends may reject unknown fields)."""
    return {key: value for key, value in body.items() if key != BODY_FIELD}


def apply_tradeoff(
    ranking: list[tuple[str, float]], text: str, tradeoff: Tradeoff, cfg: ServeConfig, max_tokens: int | None
) -> CostedRanking:
    """Reorder `ranking` ((model, router log-odds) pairs) by P(Yes) − λ·cost, dropping models over max_cost.

    Raises:
        APIError: 400 when a candidate has no configured price.
    """
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
    order = tradeoff_ranking(p_yes, cost, tradeoff.lam, tradeoff.max_cost)
    over = tradeoff.max_cost is not None and bool(cost[order[0]] > tradeoff.max_cost)
    return CostedRanking([ranking[i] for i in order], dict(zip(models, cost.tolist(), strict=True)), over)
