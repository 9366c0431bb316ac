"""GET /dashboard: the proxy's live page (backend states, traffic per model, latency, errors, cost, keys, a
"try a request" box), served from the package's `serve/static/` files (no CDN, no build step).

The page itself holds no data: it reads GET /dashboard/data every few seconds, which needs an admin key (a
keys-file entry with `admin: true`, or any MODELSAT_API_KEYS key); without keys the data is served to this
host only, as for /admin/reload. Figures are over the last `WINDOW_S` seconds (`serve/history.py`) and since
start-up; both are read from the same counters as GET /metrics.

Example:
    app.include_router(dashboard_router(history, board, state, require_admin))
"""

import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from modelsat.cost.targets import PAIR_TARGETS, STANDARD_TARGETS, Target
from modelsat.serve.api import APIError
from modelsat.serve.cost import target_curve
from modelsat.serve.health import HealthBoard
from modelsat.serve.history import MetricsHistory, Window
from modelsat.serve.reload import ServingSet
from modelsat.serve.state import SharedState

WINDOW_S = 300.0
ROUTED_ENDPOINTS = ("/v1/chat/completions", "/v1/route")
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


def asset(name: str) -> str:
    """The text of one file of `serve/static/`."""
    return resources.files("modelsat.serve").joinpath("static", name).read_text(encoding="utf-8")


def _latency(window: Window, histogram: str, **match: str) -> dict[str, Any]:
    p50, p99 = (window.quantile(histogram, q, **match) for q in (0.5, 0.99))
    return {
        "count": int(window.total(f"{histogram}_count", **match)),
        "p50_ms": None if p50 is None else p50 * 1000,
        "p99_ms": None if p99 is None else p99 * 1000,
    }


def _shares(counts: dict[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {m: (c / total if total else 0.0) for m, c in counts.items()}


def dashboard_data(
    serving: ServingSet, window: Window, board: HealthBoard, used: dict[str, int], uptime_s: float
) -> dict[str, Any]:
    """Everything the page shows, as JSON (`used`: each key's requests admitted in the last minute)."""
    cfg = serving.cfg
    states = board.snapshot()
    recent, since_start = (window.by_label("modelsat_routed_total", "model", s) for s in (False, True))
    routed = {m: recent.get(m, 0.0) for m in serving.models}
    routed_all = {m: since_start.get(m, 0.0) for m in serving.models}
    cost = window.by_label("modelsat_cost_usd_total", "model", True)
    share, share_all = _shares(routed), _shares(routed_all)
    models = [
        {
            "model": m,
            "requests": int(routed[m]),
            "share": share[m],
            "requests_total": int(routed_all[m]),
            "share_total": share_all[m],
            "cost_usd_total": cost.get(m, 0.0),
            "backend": _latency(window, "modelsat_backend_seconds", model=m),
        }
        for m in serving.models
    ]
    backends = [
        {"id": m, "model": cfg.backends[m].model, "price": _price(serving, m), **states[m]} for m in serving.models
    ]
    errors = [
        {
            "model": m,
            "reason": reason,
            "count": int(window.total("modelsat_backend_errors_total", model=m, reason=reason)),
            "count_total": int(count),
        }
        for m in serving.models
        for reason, count in window.by_label("modelsat_backend_errors_total", "reason", True, model=m).items()
    ]
    key_requests = window.by_label("modelsat_key_requests_total", "key", True)
    key_cost = window.by_label("modelsat_key_cost_usd_total", "key", True)
    keys = [
        {
            "name": k.name,
            "admin": k.admin,
            "profiles": k.profiles,
            "rpm": k.rpm,
            "used_last_minute": used.get(k.name, 0),
            "requests": int(window.total("modelsat_key_requests_total", key=k.name)),
            "requests_total": int(key_requests.get(k.name, 0.0)),
            "errors_total": _failed(window.by_label("modelsat_key_requests_total", "status", True, key=k.name)),
            "cost_usd_total": key_cost.get(k.name, 0.0),
        }
        for k in serving.keys.entries
    ]
    spent = window.total("modelsat_cost_usd_total", True)
    on_strongest = window.total("modelsat_strongest_cost_usd_total", True)
    return {
        "object": "modelsat.dashboard",
        "window_s": round(window.seconds, 1),
        "uptime_s": round(uptime_s, 1),
        "generation": serving.generation,
        "mode": getattr(serving.scorer, "mode", None),
        "backends": backends,
        "models": models,
        "latency": {
            "routing": _latency(window, "modelsat_routing_seconds"),
            "end_to_end": _latency(window, "modelsat_request_seconds", endpoint="/v1/chat/completions"),
        },
        "failures": {
            "fallbacks": int(window.total("modelsat_fallbacks_total")),
            "fallbacks_total": int(window.total("modelsat_fallbacks_total", True)),
            "backend_errors": errors,
            "error_responses": sum(_failed(_statuses(window, e)) for e in ROUTED_ENDPOINTS),
            "error_responses_total": sum(_failed(_statuses(window, e, True)) for e in ROUTED_ENDPOINTS),
        },
        "cost": {
            "spent_usd_total": spent,
            "strongest_model": cfg.strongest_model(),
            "strongest_usd_total": on_strongest,
            "saved_share": (1 - spent / on_strongest) if on_strongest > 0 else None,
        },
        "keys": keys,
        "targets": _targets(serving),
        "routed_names": _routed_names(serving),
    }


def _targets(serving: ServingSet) -> list[dict[str, Any]]:
    """The standard targets and the named trade-offs' ones, on the router's curve; none without a targets file."""
    cfg = serving.cfg
    try:
        curve = target_curve(cfg, getattr(serving.scorer, "mode", None))
    except APIError:
        return []
    named = {name: t.target() for name, t in cfg.tradeoffs.items() if t.target() is not None}
    standard = STANDARD_TARGETS + (PAIR_TARGETS if len(curve.models) == 2 else ())
    wanted = dict.fromkeys([*(str(Target.parse(t)) for t in standard), *(str(t) for t in named.values())])
    rows = []
    for text in wanted:
        target = Target.parse(text)
        choice = curve.resolve(target)
        rows.append(
            {
                "name": text,
                "promise": choice.promise,
                "lambda": choice.as_dict()["lam"],
                "lambda_alt": choice.as_dict()["lam_alt"],
                "share_alt": choice.share_alt,
                "expected_accuracy": choice.expected_accuracy,
                "expected_cost": choice.expected_cost,
                "reachable": choice.reachable,
                "tradeoffs": [f"modelsat/{name}" for name, t in named.items() if t == target],
            }
        )
    return rows


def _statuses(window: Window, endpoint: str, since_start: bool = False) -> dict[str, float]:
    return window.by_label("modelsat_requests_total", "status", since_start, endpoint=endpoint)


def _failed(by_status: dict[str, float]) -> int:
    """Responses with a status of 400 or more."""
    return int(sum(count for status, count in by_status.items() if int(status) >= 400))


def _price(serving: ServingSet, model: str) -> dict[str, float] | None:
    price = serving.cfg.backends[model].price
    return None if price is None else price.model_dump()


def _routed_names(serving: ServingSet) -> list[str]:
    cfg = serving.cfg
    return ["modelsat", *(f"modelsat/{name}" for name in [*cfg.profiles, *cfg.tradeoffs])]


def dashboard_router(
    history: MetricsHistory,
    board: HealthBoard,
    state: SharedState,
    require_admin: Callable[..., Any],
) -> APIRouter:
    """GET /dashboard (the page), /dashboard/static/<file> (its script and style) and /dashboard/data (admin)."""
    router = APIRouter()
    started = time.monotonic()
    page = asset("dashboard.html")

    @router.get("/dashboard", include_in_schema=False)
    async def dashboard_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-store"})

    @router.get("/dashboard/static/{name}", include_in_schema=False)
    async def dashboard_asset(name: str) -> Response:
        if name not in ASSETS:
            raise APIError(404, f"no dashboard file {name!r}", code="not_found")
        return Response(asset(name), media_type=ASSETS[name])

    @router.get("/dashboard/data", dependencies=[Depends(require_admin)])
    async def data(request: Request) -> dict[str, Any]:
        window = history.window(WINDOW_S)
        serving = request.state.serving
        used = {k.name: await state.used(k.name) for k in serving.keys.entries}
        return dashboard_data(serving, window, board, used, time.monotonic() - started)

    return router
