"""`modelsat serve` (the OpenAI-compatible routing proxy) and `modelsat backend` (a local model as an API).

Example:
    $ modelsat backend --model hf:smollm2 --port 8101 &
    $ modelsat serve --config configs/serve.example.yaml --port 8000
    $ modelsat serve --config configs/serve.example.yaml --mode full   # overrides the config's `mode:`
"""

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

Host = Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 exposes it to the network).")]


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="Serve config (router, cards, backends).")],
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    log_prompts: Annotated[bool, typer.Option("--log-prompts", help="Log routing texts (off: private).")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Debug log of modelsat: how many tokens the router read of each request.")
    ] = False,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="Routing mode, fast or full (default: the config's `mode:`; unset, fast for a router with an accuracy "
            "readout, else full). See docs/router.md.",
        ),
    ] = None,
) -> None:
    """Serve an OpenAI-compatible API whose model `modelsat` is answered by the routed model (SIGHUP reloads)."""
    from modelsat.serve.app import serve as run_proxy  # fastapi, uvicorn and torch load only here
    from modelsat.serve.config import load_serve_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per backend call would drown the proxy's own
    if debug:
        logging.getLogger("modelsat").setLevel(logging.DEBUG)
    if mode is not None:
        from modelsat.router.routing.modes import check_mode

        mode = check_mode(mode)
    run_proxy(load_serve_config(config), host, port, os.environ, log_prompts=log_prompts, config_path=config, mode=mode)


def backend(
    model: Annotated[str, typer.Option("--model", help="'hf:smollm2' (or hf:<id-or-folder>), or 'echo'.")],
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8101,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="Torch CPU threads (local models).")] = None,
) -> None:
    """Serve one local model (or an echo) as an OpenAI-compatible backend."""
    from modelsat.serve.backend_server import run_backend

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_backend(model, host, port, threads)


def register(app: typer.Typer) -> None:
    """Add `serve` and `backend` to `app`."""
    app.command("serve")(serve)
    app.command("backend")(backend)
