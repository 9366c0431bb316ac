"""The routing proxy: an OpenAI-compatible API whose model `modelsat` is answered by the routed model.

Endpoints: POST /v1/chat/completions, GET /v1/models, POST /v1/route, GET /healthz, GET /metrics.
A request for `modelsat` (or `modelsat/<profile-or-zoo>`) is ranked by the router (Model-SAT §3.3:
the argmax of the capability scores) and sent to the best model's backend; a backend timeout or 5xx
moves on to the next-ranked model. A request naming a backend model passes straight through.

Example:
    app = create_app(load_serve_config("serve.yaml"), scorer, backends, api_keys=("secret",))
    uvicorn.run(app, port=8000)
    # OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="secret").chat.completions.create(model="modelsat", ...)
"""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, model_validator
from starlette import types as asgi

from modelsat.data.zoos import ZOOS
from modelsat.errors import BackendError
from modelsat.router.routing.routing_text import RoutingText, Turn
from modelsat.serve.api import APIError, install_error_handler, read_json, validate
from modelsat.serve.auth import api_keys_from_env, authorized
from modelsat.serve.backends import Backend, BackendRejected, BackendUnavailable, build_backends
from modelsat.serve.config import ROUTED_MODEL, RequestOptions, ServeConfig, Tradeoff
from modelsat.serve.cost import apply_tradeoff, request_tradeoff, without_tradeoff
from modelsat.serve.metrics import Metrics
from modelsat.serve.routing import RoutingBatcher, load_scorer, request_mode
from modelsat.serve.wire import ChatRequest, Message, chat_turns, message_text
from modelsat.types import InstructionScorer

log = logging.getLogger(__name__)

ENDPOINTS = ("/v1/chat/completions", "/v1/models", "/v1/route", "/healthz", "/metrics")


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


class _CountRequests:
    """ASGI middleware counting every response (401 and 413 included) by endpoint and status."""

    def __init__(self, app: asgi.ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_counted(message: asgi.Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            endpoint = scope["path"] if scope["path"] in ENDPOINTS else "other"
            self.metrics.requests.labels(endpoint=endpoint, status=str(status)).inc()


def create_app(
    cfg: ServeConfig,
    scorer: InstructionScorer,
    backends: Mapping[str, Backend],
    *,
    api_keys: Sequence[str] = (),
    log_prompts: bool = False,
) -> FastAPI:
    """The proxy app; the batcher starts and backends close with the app's lifespan.

    Args:
        cfg: the serve config (models, profiles, fallbacks, limits).
        scorer: the router; it must score every model of `cfg.backends`.
        backends: one backend per model of `cfg.backends`.
        api_keys: accepted bearer tokens; empty disables authentication.
        log_prompts: log routing texts (off by default: prompts may be private; their token counts are logged at
            debug level either way).
    """
    if set(backends) != set(cfg.backends):
        raise ValueError(f"backends {sorted(backends)} do not match the config's {sorted(cfg.backends)}")
    models = list(cfg.backends)
    reader = scorer.reader
    metrics = Metrics()
    batcher = RoutingBatcher(
        scorer, models, cfg.batch_wait_ms / 1000, cfg.max_batch, on_batch=metrics.batch_size.observe
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None, None]:
        await batcher.start()
        try:
            yield
        finally:
            await batcher.aclose()
            for backend in backends.values():
                await backend.aclose()

    app = FastAPI(title="modelsat", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_CountRequests, metrics=metrics)
    install_error_handler(app)
    app.state.metrics = metrics

    async def require_key(request: Request) -> None:
        if not authorized(request.headers.get("authorization"), api_keys):
            raise APIError(
                401,
                "missing or invalid API key: send 'Authorization: Bearer <key>' with a key from MODELSAT_API_KEYS",
                code="invalid_api_key",
                headers={"www-authenticate": "Bearer"},
            )

    def candidates(requested: str) -> list[str] | None:
        """The models a routed name may pick from; None when `requested` is not a routed name."""
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

    def named_tradeoff(requested: str) -> Tradeoff | None:
        """The trade-off a routed name like `modelsat/cheap` selects, if any."""
        return cfg.tradeoffs.get(requested.removeprefix(ROUTED_MODEL + "/"))

    default_mode = getattr(scorer, "mode", None)

    async def rank(
        turns: list[Turn], chosen: list[str], mode: str | None = None
    ) -> tuple[list[tuple[str, float]], float, RoutingText]:
        """The candidates best first, the seconds routing took, and the routing text read from `turns`."""
        start = time.perf_counter()
        read = await asyncio.to_thread(reader.read, turns)  # tokenising a long request must not block the loop
        if not read.text:
            raise APIError(400, "nothing to route: the request has no user message or prompt text", param="messages")
        log.debug("routing text: %d tokens%s", read.tokens, ", cut from a longer request" if read.cut else "")
        if log_prompts:
            log.info("routing text (%d tokens): %r", read.tokens, read.text)
        try:
            ranking = await batcher.rank(read.text, chosen, mode)
        except Exception as exc:  # noqa: BLE001 - any router failure becomes an OpenAI-style 500
            log.exception("routing failed")
            raise APIError(500, f"routing failed: {exc}", "server_error", "routing_failed") from None
        seconds = time.perf_counter() - start
        metrics.routing_seconds.observe(seconds)
        return ranking, seconds, read

    def count_cost(model: str, reply: dict[str, Any]) -> None:
        price = cfg.backends[model].price
        usage = reply.get("usage")
        if price is None or not isinstance(usage, dict):
            return
        tokens_in, tokens_out = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        metrics.cost.labels(model=model).inc((tokens_in * price.input + tokens_out * price.output) / 1e6)

    async def relay(first: bytes, chunks: AsyncGenerator[bytes, None], model: str) -> AsyncGenerator[bytes, None]:
        """The backend's event stream, unchanged; a break-off mid-stream can only end the stream."""
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        except BackendError as exc:
            metrics.backend_errors.labels(model=model, reason=getattr(exc, "reason", "rejected")).inc()
            log.warning("stream from %s broke off: %s", model, exc)
        finally:
            await chunks.aclose()

    async def answer(body: dict[str, Any], stream: bool, order: list[str], headers: dict[str, str]) -> Response:
        """Try `order` until one backend answers; 502 when none does."""
        failures: list[str] = []
        for model in order:
            backend = backends[model]
            start = time.perf_counter()
            try:
                if stream:
                    chunks = backend.stream(body)
                    first = await anext(chunks, b"")
                else:
                    reply = await backend.complete(body)
            except BackendUnavailable as exc:
                metrics.backend_errors.labels(model=model, reason=exc.reason).inc()
                log.warning("backend %s failed (%s)", model, exc)
                failures.append(f"{model}={exc.reason}")
                continue
            except BackendRejected as exc:
                metrics.backend_errors.labels(model=model, reason=f"http-{exc.status}").inc()
                return JSONResponse(exc.body, status_code=exc.status, headers={**headers, "x-modelsat-model": model})
            elapsed = time.perf_counter() - start
            metrics.backend_seconds.labels(model=model).observe(elapsed)
            headers = {**headers, "x-modelsat-model": model, "x-modelsat-backend-ms": f"{elapsed * 1000:.2f}"}
            if failures:
                headers["x-modelsat-fallback"] = ", ".join(failures)
                metrics.fallbacks.inc()
            log.info("answered by %s in %.0f ms%s", model, elapsed * 1000, f" after {failures}" if failures else "")
            if stream:
                return StreamingResponse(relay(first, chunks, model), media_type="text/event-stream", headers=headers)
            reply["model"] = model
            count_cost(model, reply)
            return JSONResponse(reply, headers=headers)
        tried = ", ".join(failures)
        headers = {**headers, "x-modelsat-fallback": tried}
        message = f"no backend answered (tried {tried})"
        raise APIError(502, message, "backend_error", "backends_unavailable", headers=headers)

    @app.post("/v1/chat/completions", dependencies=[Depends(require_key)])
    async def chat_completions(request: Request) -> Response:
        body = await read_json(request, cfg.max_body_bytes)
        chat = validate(ChatRequest, body)
        chosen = candidates(chat.model)
        if chosen is None:
            if chat.model not in backends:
                available = ", ".join([ROUTED_MODEL, *models])
                raise APIError(404, f"unknown model {chat.model!r} (available: {available})", code="model_not_found")
            return await answer(without_tradeoff(body), chat.stream, [chat.model], {})
        tradeoff = request_tradeoff(named_tradeoff(chat.model), body)
        mode = request_mode(body)
        ranking, seconds, read = await rank(chat_turns(chat.messages), chosen, mode)
        headers = {"x-modelsat-routing-ms": f"{seconds * 1000:.2f}", "x-modelsat-routing-tokens": str(read.tokens)}
        if mode or default_mode:
            headers["x-modelsat-mode"] = mode or default_mode
        if tradeoff is not None:
            text = "\n".join(message_text(m) for m in chat.messages)
            costed = apply_tradeoff(ranking, text, tradeoff, cfg, chat.max_tokens)
            ranking = costed.ranking
            if costed.over_budget:
                headers["x-modelsat-over-budget"] = "no model fits max_cost; the cheapest answered"
        order = [m for m, _ in ranking[: 1 + cfg.fallbacks]]
        response = await answer(without_tradeoff(body), chat.stream, order, headers)
        if response.status_code < 400:
            metrics.routed.labels(model=response.headers["x-modelsat-model"]).inc()
        return response

    @app.post("/v1/route", dependencies=[Depends(require_key)])
    async def route(request: Request) -> dict[str, Any]:
        body = await read_json(request, cfg.max_body_bytes)
        query = validate(RouteRequest, body)
        chosen = candidates(query.model)
        if chosen is None:
            raise APIError(400, f"model must be {ROUTED_MODEL!r} or '{ROUTED_MODEL}/<profile>'", param="model")
        tradeoff = request_tradeoff(named_tradeoff(query.model), body)
        mode = request_mode(body)
        ranking, seconds, read = await rank(query.turns(), chosen, mode)
        reply: dict[str, Any] = {"object": "modelsat.route", "routing_text": read.text, "routing_tokens": read.tokens}
        if mode or default_mode:
            reply["mode"] = mode or default_mode
        if tradeoff is None:
            entries = [{"model": m, "score": s, "price": _price(cfg, m)} for m, s in ranking]
        else:
            costed = apply_tradeoff(ranking, query.full_text(), tradeoff, cfg, None)
            entries = [
                {"model": m, "score": s, "price": _price(cfg, m), "cost_usd": costed.costs[m]}
                for m, s in costed.ranking
            ]
            limits = {"lambda": tradeoff.lam, "max_cost": tradeoff.max_cost, "over_budget": costed.over_budget}
            reply["tradeoff"] = limits
        return reply | {"model": entries[0]["model"], "ranking": entries, "routing_ms": round(seconds * 1000, 3)}

    @app.get("/v1/models", dependencies=[Depends(require_key)])
    async def list_models() -> dict[str, Any]:
        routed = [ROUTED_MODEL, *(f"{ROUTED_MODEL}/{p}" for p in [*cfg.profiles, *cfg.tradeoffs])]
        routed += [f"{ROUTED_MODEL}/{z}" for z, members in ZOOS.items() if members and set(members) & set(models)]
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "modelsat"} for name in routed]
        data += [
            {"id": m, "object": "model", "created": 0, "owned_by": "modelsat", "price": _price(cfg, m)} for m in models
        ]
        return {"object": "list", "data": data}

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": len(models)}

    @app.get("/metrics", dependencies=[Depends(require_key)])
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=Metrics.content_type)

    return app


def _price(cfg: ServeConfig, model: str) -> dict[str, float] | None:
    price = cfg.backends[model].price
    return None if price is None else price.model_dump()


def serve(cfg: ServeConfig, host: str, port: int, environ: Mapping[str, str], log_prompts: bool = False) -> None:
    """Load the router and backends of `cfg` and serve the proxy until interrupted.

    Raises:
        ConfigError: an unset API-key variable, a missing router or cards file, or a backend without a card.
    """
    backends = build_backends(cfg, environ)
    api_keys = api_keys_from_env(environ)
    scorer = load_scorer(cfg)
    if not api_keys and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("MODELSAT_API_KEYS is not set: anyone reaching %s:%d can use every backend", host, port)
    app = create_app(cfg, scorer, backends, api_keys=api_keys, log_prompts=log_prompts)
    uvicorn.run(app, host=host, port=port, log_level="info")
