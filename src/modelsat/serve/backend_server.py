"""`modelsat backend`: serve one backend (a local transformers model, or echo) as an OpenAI-compatible API.

Endpoints: POST /v1/chat/completions (plain and `stream: true` server-sent events), GET /v1/models,
GET /healthz. Any requested `model` name is accepted and answered by the one loaded model.

Example:
    $ modelsat backend --model hf:smollm2 --port 8101   # the bundled SmolLM2-135M-Instruct
    $ modelsat backend --model echo --port 8102         # replies with the prompt
"""

from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from modelsat.errors import ConfigError
from modelsat.serve.api import install_error_handler, read_json, validate
from modelsat.serve.backends import Backend, EchoBackend
from modelsat.serve.wire import ChatRequest

MAX_BODY_BYTES = 1_048_576


def create_backend_app(backend: Backend, name: str, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """An OpenAI-compatible app answering every chat request with `backend`, listed as model `name`."""
    app = FastAPI(title=f"modelsat backend ({name})", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handler(app)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await read_json(request, max_body_bytes)
        chat = validate(ChatRequest, body)
        if chat.stream:
            return StreamingResponse(backend.stream(body), media_type="text/event-stream")
        return JSONResponse(await backend.complete(body))

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "local"}]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "model": name}

    return app


def load_backend(spec: str, threads: int | None = None) -> tuple[Backend, str]:
    """The backend for `spec` and the model name it reports.

    Specs: `echo`, or `hf:<model>` where `<model>` is `smollm2`, a Hugging Face id or a local folder.
    `threads` sets torch's intra-op threads for this process (one is fastest for a small model on a busy CPU).

    Raises:
        ConfigError: an unknown spec, or a model that cannot be loaded.
    """
    if spec == "echo":
        return EchoBackend(), "echo"
    if spec.startswith("hf:") and spec[3:]:
        import torch  # torch loads only for local models

        from modelsat.serve.local import TransformersBackend

        if threads is not None:
            torch.set_num_threads(threads)
        backend = TransformersBackend.load(spec[3:])
        return backend, backend.name
    raise ConfigError(f"unknown backend model {spec!r}: use 'echo' or 'hf:<model>' (e.g. hf:smollm2)")


def run_backend(spec: str, host: str, port: int, threads: int | None = None) -> None:
    """Load `spec` and serve it until interrupted."""
    backend, name = load_backend(spec, threads)
    uvicorn.run(create_backend_app(backend, name), host=host, port=port, log_level="info")
