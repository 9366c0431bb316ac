"""Load test of `modelsat serve`: N concurrent chat requests through the proxy to fast echo backends.

Echo backends and the proxy run in their own processes on loopback; the client sends every request at
once (or, with `--clients N`, from N clients that each send their next request when the previous one is
answered) and reports errors, latency, routing overhead and throughput. The client is httpx2's: httpx 0.28's pool
cost this load generator 4.7 ms of CPU per request at 200 open connections, on the cores the proxy shares.
Overhead is what the proxy adds: client latency minus the backend time the proxy measured (`x-modelsat-backend-ms`).
`startup_s` is the time from launching the proxy's process to its first answered health check; `proxy_cpu_s`
the CPU time the proxy used during the timed requests, so `requests_per_proxy_cpu_s` is what one core of its
own routes, whatever else runs on the machine.

Example:
    $ .venv/bin/python benchmarks/serve_load.py --requests 200                    # fake (hash) scorer
    $ .venv/bin/python benchmarks/serve_load.py --scorer real --router routers/default \\
          --cards routers/default/cards.json --mode fast --clients 8
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import statistics
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import httpx2
import numpy as np
import uvicorn

from modelsat.models.loading import resolve
from modelsat.router.config import RouterConfig
from modelsat.router.routing.routing_text import RoutingTextReader
from modelsat.serve.app import create_app
from modelsat.serve.backend_server import create_backend_app
from modelsat.serve.backends import EchoBackend, build_backends
from modelsat.serve.config import ServeConfig
from modelsat.serve.routing import load_scorer, use_routing_threads

PROMPTS = [
    "Prove that the sum of two even integers is even.",
    "Write a Python function that reverses a linked list.",
    "What is the capital of Australia, and why is it not Sydney?",
    "Explain the difference between mitosis and meiosis.",
    "Translate 'good morning' into French and German.",
]


class HashScorer:
    """A fast deterministic fake router: scores from a checksum of (instruction, model). Requests are read by the
    default router's rule over the real SmolLM2 tokenizer, as the real router reads them."""

    def __init__(self, models: Sequence[str]) -> None:
        from transformers import AutoTokenizer

        self.models = list(models)
        self.reader = RoutingTextReader.for_router(AutoTokenizer.from_pretrained(resolve("smollm2")), RouterConfig())

    def score_instructions(self, instructions: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """(len(instructions), len(models)) pseudo-random scores in [0, 1)."""
        names = list(models or self.models)
        return np.array([[zlib.crc32(f"{t}|{m}".encode()) / 2**32 for m in names] for t in instructions])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_echo(port: int) -> None:
    uvicorn.run(create_backend_app(EchoBackend(), "echo"), host="127.0.0.1", port=port, log_level="warning")


def run_proxy(cfg: ServeConfig, scorer_kind: str, port: int) -> None:
    if scorer_kind == "real":
        scorer = load_scorer(cfg)
        use_routing_threads(cfg, scorer)  # as `modelsat serve` does
    else:
        scorer = HashScorer(list(cfg.backends))
    app = create_app(cfg, scorer, build_backends(cfg, {}))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096)


def wait_ready(url: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start within {timeout_s} s")


async def one(client: httpx2.AsyncClient, url: str, i: int) -> tuple[bool, float, float, float]:
    """(ok, client latency s, proxy routing s, backend s) of one request."""
    body = {"model": "modelsat", "messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} (#{i})"}]}
    start = time.perf_counter()
    try:
        response = await client.post(url + "/v1/chat/completions", json=body)
    except httpx2.HTTPError:
        return False, time.perf_counter() - start, 0.0, 0.0
    latency = time.perf_counter() - start
    if response.status_code != 200:
        return False, latency, 0.0, 0.0
    routing = float(response.headers["x-modelsat-routing-ms"]) / 1000
    return True, latency, routing, float(response.headers["x-modelsat-backend-ms"]) / 1000


async def load(url: str, n: int, clients: int | None = None) -> tuple[list[tuple[bool, float, float, float]], float]:
    """`n` requests, all at once, or from `clients` clients sending one after another; (results, wall seconds)."""
    width = clients or n
    limits = httpx2.Limits(max_connections=width, max_keepalive_connections=width)
    async with httpx2.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(one(client, url, i) for i in range(10)))  # warm-up, not counted
        start = time.perf_counter()
        if clients is None:
            results = await asyncio.gather(*(one(client, url, i) for i in range(n)))
        else:
            queue = iter(range(n))  # shared: each client takes the next request number when it is free

            async def client_loop() -> list[tuple[bool, float, float, float]]:
                return [await one(client, url, i) for i in queue]

            results = [r for done in await asyncio.gather(*(client_loop() for _ in range(clients))) for r in done]
        return results, time.perf_counter() - start


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def batch_stats(metrics_text: str) -> tuple[float, float]:
    """(scoring calls, mean instructions per call) from the proxy's /metrics."""
    values = {}
    for line in metrics_text.splitlines():
        if line.startswith(("modelsat_routing_batch_size_sum", "modelsat_routing_batch_size_count")):
            name, value = line.split()
            values[name] = float(value)
    count = values.get("modelsat_routing_batch_size_count", 0.0)
    return count, values.get("modelsat_routing_batch_size_sum", 0.0) / max(count, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="concurrent requests sent at once")
    parser.add_argument("--backends", type=int, default=3, help="echo backend processes (shared round-robin)")
    parser.add_argument("--scorer", choices=["fake", "real"], default="fake")
    parser.add_argument("--router", type=Path, default=Path("routers/default"))
    parser.add_argument("--cards", type=Path, default=Path("routers/default/cards.json"))
    parser.add_argument("--mode", choices=["fast", "full"], default="fast", help="routing mode of the real router")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (default: all requests at once)")
    parser.add_argument("--max-batch", type=int, default=None, help="the proxy's max_batch (default: serve's own)")
    args = parser.parse_args()

    if args.scorer == "real":
        from modelsat.aptitude.cards import load_cards

        models = list(load_cards(args.cards))
    else:
        models = [f"model-{chr(ord('a') + i)}" for i in range(args.backends)]
    ctx = mp.get_context("spawn")
    ports = [free_port() for _ in range(args.backends)]
    workers = [ctx.Process(target=run_echo, args=(p,), daemon=True) for p in ports]
    urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
    backends = {m: {"base_url": urls[i % len(urls)], "model": "echo"} for i, m in enumerate(models)}
    settings = {"router": str(args.router), "cards": str(args.cards), "backends": backends, "mode": args.mode}
    if args.max_batch is not None:
        settings["max_batch"] = args.max_batch
    cfg = ServeConfig.model_validate(settings)
    proxy_port = free_port()
    proxy = ctx.Process(target=run_proxy, args=(cfg, args.scorer, proxy_port), daemon=True)
    for worker in workers:
        worker.start()
    workers.append(proxy)
    try:
        for port in ports:
            wait_ready(f"http://127.0.0.1:{port}")
        url = f"http://127.0.0.1:{proxy_port}"
        launched = time.perf_counter()
        proxy.start()
        wait_ready(url)
        startup = time.perf_counter() - launched
        cpu_before = cpu_seconds(proxy.pid)
        results, wall = asyncio.run(load(url, args.requests, args.clients))
        cpu_after = cpu_seconds(proxy.pid)
        calls, mean_batch = batch_stats(httpx2.get(url + "/metrics").text)
    finally:
        for worker in workers:
            worker.terminate()
    ok = [r for r in results if r[0]]
    overhead = [latency - backend for _, latency, _, backend in ok]
    summary = {
        "scorer": args.scorer,
        "mode": args.mode if args.scorer == "real" else None,
        "models": len(models),
        "requests": args.requests,
        "clients": args.clients or args.requests,
        "startup_s": round(startup, 2),
        "errors": len(results) - len(ok),
        "latency_ms_p50": round(pct([r[1] for r in ok], 50), 2),
        "latency_ms_p99": round(pct([r[1] for r in ok], 99), 2),
        "overhead_ms_p50": round(pct(overhead, 50), 2),
        "overhead_ms_p99": round(pct(overhead, 99), 2),
        "routing_ms_p50": round(pct([r[2] for r in ok], 50), 2),
        "routing_ms_p99": round(pct([r[2] for r in ok], 99), 2),
        "backend_ms_mean": round(statistics.fmean(r[3] for r in ok) * 1000, 2) if ok else None,
        "scoring_calls": int(calls),
        "mean_batch_size": round(mean_batch, 1),
        "requests_per_s": round(len(ok) / wall, 1),
    }
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        # the proxy's own CPU time: what the run costs whatever else shares the machine's cores
        summary["proxy_cpu_s"] = round(cpu_after - cpu_before, 2)
        summary["requests_per_proxy_cpu_s"] = round(len(ok) / (cpu_after - cpu_before), 1)
        summary["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary, indent=1))
    if summary["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
