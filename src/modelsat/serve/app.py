"""The routing proxy: an OpenAI-compatible API whose model `modelsat` is answered by the routed model.

Endpoints: POST /v1/chat/completions, GET /v1/models, POST /v1/route, GET /v1/backends, POST /admin/reload,
GET /v1/usage, GET /healthz, GET /metrics.

A request for `modelsat` (or `modelsat/<profile-or-zoo>`) is ranked by the router
(Model-SAT §3.3: the argmax of the capability scores) and sent to the best available model's backend; a
backend timeout or 5xx moves on to the next-ranked model, and a backend that keeps failing cools down
(`serve/dispatch.py`, `serve/health.py`). A request naming a backend model passes straight through.
SIGHUP or POST /admin/reload re-reads serve.yaml and the cards (`serve/reload.py`). Limits, budgets, usage,
cool-downs and reloads are shared with other replicas when serve.yaml's `state` names a Redis (`serve/state/`).
GET /dashboard is the live page for people (`serve/dashboard.py`).

Example:
    app = create_app(load_serve_config("serve.yaml"), scorer, backends, config_path=Path("serve.yaml"))
    uvicorn.run(app, port=8000)
    # OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="secret").chat.completions.create(model="modelsat", ...)
"""

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, model_validator
from starlette import types as asgi

from modelsat.data.zoos import ZOOS
from modelsat.router.routing.routing_text import RoutingText, Turn
from modelsat.serve.api import APIError, install_error_handler, read_json, validate
from modelsat.serve.backends import Backend, build_backends
from modelsat.serve.config import ROUTED_MODEL, RequestOptions, ServeConfig
from modelsat.serve.cost import apply_tradeoff, request_tradeoff, without_tradeoff
from modelsat.serve.dashboard import dashboard_router
from modelsat.serve.dispatch import Dispatcher
from modelsat.serve.health import HealthBoard, Prober
from modelsat.serve.heap import TRIM_EVERY_S, trim_heap
from modelsat.serve.history import MetricsHistory
from modelsat.serve.keys import KeyEntry, KeyRing
from modelsat.serve.metrics import Metrics
from modelsat.serve.reload import (
    LiveSet,
    ReloadRefused,
    ScorerLoader,
    ServingSet,
    ServingSetLoader,
    batcher_factory,
    reload_scorer,
    routed_names,
)
from modelsat.serve.routing import load_scorer, request_mode, use_routing_threads
from modelsat.serve.state import open_state
from modelsat.serve.state.refusals import refusal_error
from modelsat.serve.wire import ChatRequest, Message, chat_turns, message_text
from modelsat.types import InstructionScorer

log = logging.getLogger(__name__)

ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/models",
    "/v1/route",
    "/v1/backends",
    "/admin/reload",
    "/v1/usage",
    "/healthz",
    "/metrics",
    "/dashboard",
    "/dashboard/data",
)
LOOPBACK = ("127.0.0.1", "::1", "localhost", "testclient")
ONEDNN_CACHE_ENV, ONEDNN_CACHE_CAPACITY = "ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64"


class RouteRequest(BaseModel):
    """Body of POST /v1/route: chat `messages` or a bare `prompt`, optionally a routed model name and a trade-off."""

    model_config = ConfigDict(extra="forbid")

    model: str = ROUTED_MODEL
    messages: list[Message] | None = None
    prompt: str | None = None
    modelsat: RequestOptions | None = None

    @model_validator(mode="after")
    def _one_input(self) -> "RouteRequest":
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give exactly one of 'messages' or 'prompt'")
        return self

    def turns(self) -> list[Turn]:
        """The request as chat turns: a bare prompt is one user turn."""
        return [Turn("user", self.prompt)] if self.prompt is not None else chat_turns(self.messages or [])

    def full_text(self) -> str:
        """Everything a backend would read (the cost estimate's input)."""
        return self.prompt if self.prompt is not None else "\n".join(message_text(m) for m in self.messages or [])


class _PinAndCount:
    """ASGI middleware: pins the serving set for the whole request (a reload never pulls it away mid-stream) and
    counts every response (401 and 413 included) by endpoint and status, and by API key name."""

    def __init__(self, app: asgi.ASGIApp, metrics: Metrics, live: LiveSet) -> None:
        self.app = app
        self.metrics = metrics
        self.live = live

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        state = scope.setdefault("state", {})
        start = time.perf_counter()

        async def send_counted(message: asgi.Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            async with self.live.pinned() as serving:
                state["serving"] = serving
                await self.app(scope, receive, send_counted)
        finally:
            endpoint = scope["path"] if scope["path"] in ENDPOINTS else "other"
            self.metrics.request_seconds.labels(endpoint=endpoint).observe(time.perf_counter() - start)
            self.metrics.requests.labels(endpoint=endpoint, status=str(status)).inc()
            if state.get("key_name") is not None:
                self.metrics.key_requests.labels(key=state["key_name"], status=str(status)).inc()


def create_app(
    cfg: ServeConfig,
    scorer: InstructionScorer,
    backends: Mapping[str, Backend],
    *,
    api_keys: Sequence[str] = (),
    keys: KeyRing | None = None,
    log_prompts: bool = False,
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    handle_sighup: bool = False,
    scorer_loader: ScorerLoader = reload_scorer,
    mode: str | None = None,
) -> FastAPI:
    """The proxy app; routing, probing and backends start and stop with the app's lifespan.

    Args:
        cfg: the serve config (models, profiles, fallbacks, limits).
        scorer: the router; it must score every model of `cfg.backends`.
        backends: one backend per model of `cfg.backends`.
        api_keys: accepted bearer tokens (as from MODELSAT_API_KEYS), when `keys` is not given.
        keys: named keys with limits (`KeyRing.load`); no keys at all disables authentication.
        log_prompts: log routing texts (off by default: prompts may be private; their token counts are logged at
            debug level either way).
        config_path: serve.yaml to re-read on POST /admin/reload (and SIGHUP); without it reloads are refused.
        environ: environment of reloads (backend API-key variables, MODELSAT_API_KEYS).
        handle_sighup: reload on SIGHUP (main thread only: `serve` sets it).
        scorer_loader: builds a reload's router from the new config and the router serving now.
        mode: a routing mode that overrides the `mode:` of every config read on reload (`serve --mode`).
    """
    if set(backends) != set(cfg.backends):
        raise ValueError(f"backends {sorted(backends)} do not match the config's {sorted(cfg.backends)}")
    metrics = Metrics()
    history = MetricsHistory(metrics.registry)
    board = HealthBoard(cfg.cooldown, on_change=metrics.backend_state)
    board.sync(cfg.backends)
    state = open_state(cfg.state, metrics.registry)
    dispatcher = Dispatcher(metrics, board, state)
    keyring = keys if keys is not None else KeyRing(KeyRing.plain(api_keys))
    scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="modelsat-routing")
    new_batcher = batcher_factory(metrics.batch_size.observe, scoring)
    initial = ServingSet(cfg, scorer, dict(backends), keyring, new_batcher(cfg, scorer))
    loader = (
        None if config_path is None else ServingSetLoader(Path(config_path), dict(environ or {}), scorer_loader, mode)
    )

    def swapped(old: ServingSet, new: ServingSet) -> None:
        changed = [m for m in new.models if m in old.cfg.backends and old.cfg.backends[m] != new.cfg.backends[m]]
        # a model the reload removed keeps its cool-down state while requests pinned to the old set may still use it
        board.sync(live.models_in_use(), reset=changed, rule=new.cfg.cooldown)
        state.forget(entry.name for entry in new.keys.entries)
        metrics.generation.set(new.generation)
        metrics.served_models.set(len(new.models))

    def retired(old: ServingSet) -> None:
        in_use = live.models_in_use()
        board.sync(in_use)
        for model in set(old.models) - set(in_use):
            metrics.forget_backend(model)

    live = LiveSet(initial, loader, new_batcher, scoring, swapped, retired)
    prober = Prober(board, lambda: live.current.backends)
    metrics.served_models.set(len(initial.models))

    async def apply_reload() -> dict[str, Any]:
        try:
            summary = await live.reload()
        except ReloadRefused:
            metrics.reloads.labels(result="refused").inc()
            raise
        metrics.reloads.labels(result="applied").inc()
        return summary

    async def reload() -> dict[str, Any]:
        """Reload this replica and (shared state) every other one at the same time."""
        version = await state.reloading()
        summary = await apply_reload()
        state.applied(version)
        return summary | {"config_version": state.config_version}

    async def follow_reload() -> bool:
        """Another replica reloaded: reload this one (a refusal is logged by the reload itself)."""
        try:
            await apply_reload()
        except ReloadRefused:
            return False
        return True

    signalled: set[asyncio.Task[dict[str, Any]]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading %s", config_path)
        task = asyncio.ensure_future(reload())
        signalled.add(task)  # a reference until done; a refusal is logged by the reload itself
        task.add_done_callback(lambda t: signalled.discard(t) or t.cancelled() or t.exception())

    async def trim_periodically() -> None:
        """Free heap pages back to the OS now (after loading the router) and every minute, on the scoring thread
        (serialized with routing, off the event loop)."""
        loop = asyncio.get_running_loop()
        while True:
            await loop.run_in_executor(scoring, trim_heap)
            await asyncio.sleep(TRIM_EVERY_S)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None, None]:
        await initial.batcher.start()
        prober.start()
        await state.start(board, follow_reload)
        await history.start()
        trimmer = asyncio.create_task(trim_periodically(), name="modelsat-trim")
        if handle_sighup:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_sighup)
        try:
            yield
        finally:
            if handle_sighup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            trimmer.cancel()
            await asyncio.gather(trimmer, return_exceptions=True)
            await history.aclose()
            await prober.aclose()
            await state.aclose()
            await live.aclose()
            scoring.shutdown(wait=False)

    app = FastAPI(title="modelsat", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_PinAndCount, metrics=metrics, live=live)
    install_error_handler(app)
    app.state.metrics = metrics
    app.state.live = live

    def serving_of(request: Request) -> ServingSet:
        return request.state.serving

    async def require_key(request: Request) -> KeyEntry | None:
        ring = serving_of(request).keys
        if not ring.enabled:
            return None
        key = ring.identify(request.headers.get("authorization"))
        if key is None:
            raise APIError(
                401,
                "missing or invalid API key: send 'Authorization: Bearer <key>' with a key of the proxy's keys file "
                "or MODELSAT_API_KEYS",
                code="invalid_api_key",
                headers={"www-authenticate": "Bearer"},
            )
        request.state.key_name = key.name
        return key

    async def require_admin(request: Request, key: KeyEntry | None = Depends(require_key)) -> None:
        if key is None and (request.client is None or request.client.host not in LOOPBACK):
            raise APIError(403, "without API keys, admin endpoints answer only this host", code="forbidden")
        if key is not None and not key.admin:
            raise APIError(
                403, f"key {key.name!r} is not an admin key (admin: true in the keys file)", code="forbidden"
            )

    async def within_limit(key: KeyEntry | None = Depends(require_key)) -> KeyEntry | None:
        if key is None or (key.rpm is None and key.budget_usd is None):
            return key
        refusal = await state.admit(key)
        if refusal is not None:
            raise refusal_error(key, refusal)
        return key

    def candidates(serving: ServingSet, requested: str, key: KeyEntry | None) -> list[str] | None:
        """The models a routed name may pick from; None when `requested` is not a routed name."""
        cfg, models = serving.cfg, serving.models
        if key is not None and key.profiles is not None:
            allowed = [f"{ROUTED_MODEL}/{p}" for p in key.profiles]
            if requested not in allowed:
                message = f"key {key.name!r} may request only {', '.join(allowed)}, not {requested!r}"
                raise APIError(403, message, code="model_not_allowed", param="model")
        if requested == ROUTED_MODEL:
            return models
        if not requested.startswith(ROUTED_MODEL + "/"):
            return None
        name = requested.removeprefix(ROUTED_MODEL + "/")
        if name in cfg.profiles:
            return cfg.profiles[name]
        if name in cfg.tradeoffs:
            return models
        if name in ZOOS:
            members = ZOOS[name]
            chosen = [m for m in models if members is None or m in members]
            if chosen:
                return chosen
            raise APIError(400, f"no configured backend serves a model of zoo {name!r}", code="model_not_found")
        known = ", ".join([*cfg.profiles, *cfg.tradeoffs, *ZOOS]) or "none"
        raise APIError(404, f"unknown profile or zoo {name!r} (known: {known})", code="model_not_found", param="model")

    async def rank(
        serving: ServingSet, turns: list[Turn], chosen: list[str], mode: str | None = None
    ) -> tuple[list[tuple[str, float]], float, RoutingText]:
        """The candidates best first, the seconds routing took, and the routing text read from `turns`; `mode` is the
        routing mode the request asked for (None: the serving router's own)."""
        start = time.perf_counter()
        reader = serving.scorer.reader
        read = await asyncio.to_thread(reader.read, turns)  # tokenising a long request must not block the loop
        if not read.text:
            raise APIError(400, "nothing to route: the request has no user message or prompt text", param="messages")
        log.debug("routing text: %d tokens%s", read.tokens, ", cut from a longer request" if read.cut else "")
        if log_prompts:
            log.info("routing text (%d tokens): %r", read.tokens, read.text)
        try:
            ranking = await serving.batcher.rank(read.text, chosen, mode)
        except Exception as exc:  # noqa: BLE001 - any router failure becomes an OpenAI-style 500
            log.exception("routing failed")
            raise APIError(500, f"routing failed: {exc}", "server_error", "routing_failed") from None
        seconds = time.perf_counter() - start
        metrics.routing_seconds.observe(seconds)
        return ranking, seconds, read

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request, key: KeyEntry | None = Depends(within_limit)) -> Response:
        serving = serving_of(request)
        cfg = serving.cfg
        body = await read_json(request, cfg.max_body_bytes)
        chat = validate(ChatRequest, body)
        key_name = key.name if key else None
        chosen = candidates(serving, chat.model, key)
        if chosen is None:
            if chat.model not in serving.backends:
                available = ", ".join([ROUTED_MODEL, *serving.models])
                raise APIError(404, f"unknown model {chat.model!r} (available: {available})", code="model_not_found")
            return await dispatcher.answer(serving, without_tradeoff(body), chat.stream, [chat.model], {}, key_name, 0)
        tradeoff = request_tradeoff(cfg.tradeoffs.get(chat.model.removeprefix(ROUTED_MODEL + "/")), body)
        mode = request_mode(body)
        ranking, seconds, read = await rank(serving, chat_turns(chat.messages), chosen, mode)
        headers = {"x-modelsat-routing-ms": f"{seconds * 1000:.2f}", "x-modelsat-routing-tokens": str(read.tokens)}
        if mode or getattr(serving.scorer, "mode", None):
            headers["x-modelsat-mode"] = mode or serving.scorer.mode
        if tradeoff is not None:
            text = "\n".join(message_text(m) for m in chat.messages)
            routed_by = mode or getattr(serving.scorer, "mode", None)
            costed = apply_tradeoff(ranking, text, tradeoff, cfg, chat.max_tokens, routed_by)
            ranking = costed.ranking
            if costed.over_budget:
                headers["x-modelsat-over-budget"] = "no model fits max_cost; the cheapest answered"
        order = [m for m, _ in ranking]
        response = await dispatcher.answer(serving, without_tradeoff(body), chat.stream, order, headers, key_name)
        if response.status_code < 400:
            metrics.routed.labels(model=response.headers["x-modelsat-model"]).inc()
        return response

    @app.post("/v1/route")
    async def route(request: Request, key: KeyEntry | None = Depends(within_limit)) -> dict[str, Any]:
        serving = serving_of(request)
        cfg = serving.cfg
        body = await read_json(request, cfg.max_body_bytes)
        query = validate(RouteRequest, body)
        chosen = candidates(serving, query.model, key)
        if chosen is None:
            raise APIError(400, f"model must be {ROUTED_MODEL!r} or '{ROUTED_MODEL}/<profile>'", param="model")
        tradeoff = request_tradeoff(cfg.tradeoffs.get(query.model.removeprefix(ROUTED_MODEL + "/")), body)
        mode = request_mode(body)
        ranking, seconds, read = await rank(serving, query.turns(), chosen, mode)
        reply: dict[str, Any] = {"object": "modelsat.route", "routing_text": read.text, "routing_tokens": read.tokens}
        if mode or getattr(serving.scorer, "mode", None):
            reply["mode"] = mode or serving.scorer.mode
        if tradeoff is None:
            entries = [{"model": m, "score": s, "price": _price(cfg, m)} for m, s in ranking]
        else:
            routed_by = mode or getattr(serving.scorer, "mode", None)
            costed = apply_tradeoff(ranking, query.full_text(), tradeoff, cfg, None, routed_by)
            entries = [
                {"model": m, "score": s, "price": _price(cfg, m), "cost_usd": costed.costs[m]}
                for m, s in costed.ranking
            ]
            limits = {"lambda": costed.lam, "max_cost": tradeoff.max_cost, "over_budget": costed.over_budget}
            reply["tradeoff"] = limits | ({"target": costed.target.as_dict()} if costed.target else {})
        for entry in entries:
            entry["available"] = board.available(entry["model"])
        return reply | {"model": entries[0]["model"], "ranking": entries, "routing_ms": round(seconds * 1000, 3)}

    @app.get("/v1/models")
    async def list_models(request: Request, key: KeyEntry | None = Depends(require_key)) -> dict[str, Any]:
        serving = serving_of(request)
        cfg, models = serving.cfg, serving.models
        routed = [ROUTED_MODEL, *(f"{ROUTED_MODEL}/{p}" for p in [*cfg.profiles, *cfg.tradeoffs])]
        routed += [f"{ROUTED_MODEL}/{z}" for z, members in ZOOS.items() if members and set(members) & set(models)]
        if key is not None and key.profiles is not None:
            routed = [f"{ROUTED_MODEL}/{p}" for p in key.profiles]
            models = []
        states = board.snapshot()
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "modelsat"} for name in routed]
        data += [
            {
                "id": m,
                "object": "model",
                "created": 0,
                "owned_by": "modelsat",
                "price": _price(cfg, m),
                "status": states[m]["state"],
            }
            for m in models
        ]
        return {"object": "list", "data": data}

    @app.get("/v1/backends", dependencies=[Depends(require_key)])
    async def list_backends(request: Request) -> dict[str, Any]:
        serving = serving_of(request)
        states = board.snapshot()
        data = [
            {"id": m, "object": "modelsat.backend", "model": serving.cfg.backends[m].model, **states[m]}
            for m in serving.models
        ]
        shared = {"config_version": state.config_version, "shared_state": state.reachable}
        return {"object": "list", "generation": serving.generation, **shared, "data": data}

    @app.post("/admin/reload", dependencies=[Depends(require_admin)])
    async def admin_reload() -> dict[str, Any]:
        try:
            return {"object": "modelsat.reload", **(await reload())}
        except ReloadRefused as exc:
            raise APIError(400, f"reload refused, the running set stays: {exc}", code="reload_refused") from None

    @app.get("/v1/usage", dependencies=[Depends(require_admin)])
    async def usage(request: Request) -> dict[str, Any]:
        serving = serving_of(request)
        names = [entry.name for entry in serving.keys.entries]
        return {"object": "modelsat.usage", **(await state.usage(names, serving.models))}

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        serving = serving_of(request)
        return {"status": "ok", "models": len(serving.models), "generation": serving.generation}

    @app.get("/metrics", dependencies=[Depends(require_key)])
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=Metrics.content_type)

    app.include_router(dashboard_router(history, board, state, require_admin))

    return app


def _price(cfg: ServeConfig, model: str) -> dict[str, float] | None:
    price = cfg.backends[model].price
    return None if price is None else price.model_dump()


def serve(
    cfg: ServeConfig,
    host: str,
    port: int,
    environ: Mapping[str, str],
    log_prompts: bool = False,
    config_path: Path | None = None,
    mode: str | None = None,
) -> None:
    """Load the router, backends and keys of `cfg` and serve the proxy until interrupted (SIGHUP reloads); `mode`
    overrides the routing mode of `cfg` and of every config a reload reads.

    Raises:
        ConfigError: an unset API-key variable, a missing router or cards file, a backend without a card, or a bad
            keys file.
    """
    if mode is not None:
        cfg = cfg.model_copy(update={"mode": mode})
    keys = KeyRing.load(cfg.keys, environ)
    keys.check_profiles(routed_names(cfg), cfg.keys)
    backends = build_backends(cfg, environ)
    # oneDNN keeps compiled kernels for every (batch, length) shape it meets, 1,024 by default: a proxy's ever-new
    # request shapes grew its memory for many minutes (docs/serving.md#chaos-soak); a small cache bounds it.
    os.environ.setdefault(ONEDNN_CACHE_ENV, ONEDNN_CACHE_CAPACITY)
    scorer = load_scorer(cfg)
    log.info("routing on %d CPU threads", use_routing_threads(cfg, scorer))
    if not keys.enabled and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "no API keys (keys file or MODELSAT_API_KEYS): anyone reaching %s:%d can use every backend", host, port
        )
    app = create_app(
        cfg,
        scorer,
        backends,
        keys=keys,
        log_prompts=log_prompts,
        config_path=config_path,
        environ=environ,
        handle_sighup=config_path is not None,
        mode=mode,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
