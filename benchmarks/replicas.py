"""Several replicas of `modelsat serve` behind HAProxy, sharing one Redis: limits, cool-downs, reloads and a Redis
outage, measured through the load balancer with the shipped router (fast mode) and echo backends.

`modelsat.serve.cluster` starts redis-server, three `modelsat serve` processes (routers/default, `state:
redis://...`), one echo backend per model and HAProxy (round-robin per request), all on loopback. Then:

1. limit: 16 clients hammer a key limited to `--rpm` requests a minute for 5 s; accepted must be rpm ± 1;
2. cool-down: one backend is killed under load; every replica must mark it cooling within 1 s of the first
   failure any client saw (each replica's /v1/backends polled every 50 ms);
3. reload: serve.yaml gains a model (gemini-1.5-pro-002, by its card) and one replica is told to reload; all
   three must route to it within 2 s (their /v1/route polled);
4. Redis outage: Redis is killed for `--outage` seconds under load: 0 responses 500, 0 without a reply; once it is
   back every replica must share state again within 5 s and a fresh key's limit be exact again;
5. CPU (first, on fresh clusters): the same load (a key with a limit and a budget, so every request runs the
   shared admission) for `--cpu-seconds` on the redis cluster, then on a second cluster of three replicas with
   `state: memory`, alternating `--rounds` times (both clusters stay up, one loaded at a time, so other work on
   the machine weighs on both alike): the replicas' CPU seconds per answered request; redis at most 15 % above.

It prints each phase's figures, then one JSON line; it exits 1 when a bound fails.

Example:
    $ .venv/bin/python benchmarks/replicas.py
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import yaml

from modelsat.serve.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["Qwen1.5-7B-Chat", "DeepSeek-Coder-V2", "Meta-Llama-3_1-8B", "Phi-3-mini-4k-instruct"]
VICTIM = "DeepSeek-Coder-V2"  # killed in phase 2
NEW_MODEL = "gemini-1.5-pro-002"  # joins by reload in phase 3
ROUTE_CHECK = "Which gas makes up most of the Earth's atmosphere?"  # the strong new model ranks first
CLIENTS = 16
ADMIN, METERED, CLIENT = "replicas-admin", "replicas-metered", "replicas-client"
PROMPTS = [
    "Solve for x: 3x + 7 = 22, and show each step.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Explain the difference between mitosis and meiosis in two sentences.",
    "What was the main cause of the fall of the Western Roman Empire?",
    "Find the derivative of sin(x) times e to the x.",
]


def free_block(size: int) -> int:
    """A port p with p..p+size-1 free on loopback (the load balancer's, then the replicas')."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base + size < 65535 and all(_free(base + i) for i in range(size)):
            return base


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def write_setup(folder: Path, state: str, echo: dict[str, int], rpm: int) -> Path:
    """serve.yaml and keys.yaml in `folder`; returns serve.yaml's path."""
    keys = [
        {"name": "admin", "key": ADMIN, "admin": True},
        {"name": "client", "key": CLIENT},
        {"name": "metered", "key": METERED, "rpm": 1_000_000, "budget_usd": 1_000_000.0},
        *({"name": name, "key": name, "rpm": rpm} for name in ("limit-a", "limit-b")),
    ]
    (folder / "keys.yaml").write_text(yaml.safe_dump({"keys": keys}))
    backends = {
        m: {
            "base_url": f"http://127.0.0.1:{port}/v1",
            "model": "echo",
            "timeout_s": 5,
            "price": {"input": 1, "output": 2},
        }
        for m, port in echo.items()
    }
    raw = {
        "router": str(ROOT / "routers" / "default"),
        "cards": str(ROOT / "routers" / "default" / "cards.json"),
        "mode": "fast",
        "state": state,
        "keys": "keys.yaml",
        "fallbacks": 1,
        "cooldown": {"failures": 3, "window_s": 10, "cooldown_s": 5, "probe_timeout_s": 2},
        "backends": backends,
    }
    path = folder / "serve.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def hammer(
    client: httpx2.AsyncClient,
    url: str,
    seconds: float,
    pick: Callable[[int], tuple[str, str]],
    enough: int | None = None,
) -> list[tuple[float, int | None, dict[str, str]]]:
    """CLIENTS clients sending back to back for `seconds` (or until `enough` requests were answered); `pick(i)` is
    request i's (key, model). Returns (sent at, status or None without a reply, headers) per request."""
    results: list[tuple[float, int | None, dict[str, str]]] = []
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        while time.monotonic() < deadline and (enough is None or len(results) < enough):
            i = next(counter)
            key, model = pick(i)
            body = {"model": model, "messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]} #{i}"}]}
            sent = time.monotonic()
            try:
                response = await client.post(url + "/v1/chat/completions", json=body, headers=auth(key))
            except httpx2.HTTPError:
                results.append((sent, None, {}))
                continue
            results.append((sent, response.status_code, dict(response.headers)))

    await asyncio.gather(*(loop() for _ in range(CLIENTS)))
    return results


async def backends_of(client: httpx2.AsyncClient, url: str) -> dict[str, Any]:
    return (await client.get(url + "/v1/backends", headers=auth(ADMIN))).json()


async def shared(client: httpx2.AsyncClient, url: str) -> bool:
    try:
        return (await backends_of(client, url))["shared_state"]
    except httpx2.HTTPError:
        return False


async def limit_phase(client: httpx2.AsyncClient, cluster: Cluster, key: str, rpm: int) -> int:
    """Requests of `key` accepted when 16 clients send rpm + 64 of them within its 60 s window (at most 45 s)."""
    results = await hammer(client, cluster.url, 45.0, lambda i: (key, "modelsat"), enough=rpm + 64)
    statuses = Counter(status for _, status, _ in results)
    print(f"  {len(results)} requests with key {key}: {dict(statuses)}", file=sys.stderr)
    return statuses[200]


async def cooldown_phase(client: httpx2.AsyncClient, cluster: Cluster, victim_port: int) -> float:
    """Seconds from the first failure a client saw to the last replica marking the victim cooling."""
    cooling_at: dict[str, float] = {}

    async def watch(url: str) -> None:
        while True:
            states = {b["id"]: b["state"] for b in (await backends_of(client, url))["data"]}
            if states[VICTIM] != "up":
                cooling_at[url] = time.monotonic()  # an upper bound: the replica was cooling when it answered
                return
            await asyncio.sleep(0.05)

    def pick(i: int) -> tuple[str, str]:
        return CLIENT, VICTIM if i % 2 else "modelsat"

    load = asyncio.create_task(hammer(client, cluster.url, 4.0, pick))
    await asyncio.sleep(1.0)
    cluster.kill_echo(victim_port)
    await asyncio.wait_for(asyncio.gather(*(watch(url) for url in cluster.proxy_urls)), 15)
    results = await load
    failed = [sent for sent, status, headers in results if _failed_on_victim(status, headers)]
    first = min(failed)
    spread = max(cooling_at.values()) - first
    print(f"  first failure seen at +{first % 100:.2f}; replicas cooling after {spread:.2f} s", file=sys.stderr)
    cluster.start_echo(victim_port)
    return spread


def _failed_on_victim(status: int | None, headers: dict[str, str]) -> bool:
    tried = headers.get("x-modelsat-fallback", "")
    return f"{VICTIM}=" in tried and f"{VICTIM}=cooling-down" not in tried


async def reload_phase(client: httpx2.AsyncClient, cluster: Cluster, config: Path, port: int) -> float:
    """Seconds from POST /admin/reload on replica 0 to all replicas routing ROUTE_CHECK to NEW_MODEL."""
    cluster.start_echo(port)
    raw = yaml.safe_load(config.read_text())
    raw["backends"][NEW_MODEL] = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "echo", "timeout_s": 5}
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    load = asyncio.create_task(hammer(client, cluster.url, 6.0, lambda i: (CLIENT, "modelsat")))
    await asyncio.sleep(1.0)
    started = time.monotonic()
    reply = asyncio.create_task(client.post(cluster.proxy_urls[0] + "/admin/reload", headers=auth(ADMIN)))
    routed: dict[str, float] = {}

    async def watch(url: str) -> None:
        while time.monotonic() - started < 30:
            answer = await client.post(url + "/v1/route", json={"prompt": ROUTE_CHECK}, headers=auth(ADMIN))
            if answer.json()["model"] == NEW_MODEL:
                routed[url] = time.monotonic() - started  # an upper bound: routed so when it answered
                return
            await asyncio.sleep(0.02)

    await asyncio.gather(*(watch(url) for url in cluster.proxy_urls))
    summary = (await reply).json()
    results = await load
    statuses = Counter(status for _, status, _ in results)
    versions = [(await backends_of(client, url))["config_version"] for url in cluster.proxy_urls]
    print(f"  reload {summary.get('seconds')} s on replica 0; routed by each after {routed}", file=sys.stderr)
    print(f"  config versions {versions}; load during the reload: {dict(statuses)}", file=sys.stderr)
    return max(routed.values()) if len(routed) == len(cluster.proxy_urls) else float("inf")


async def outage_phase(client: httpx2.AsyncClient, cluster: Cluster, seconds: float) -> dict[str, Any]:
    assert cluster.redis is not None
    load = asyncio.create_task(hammer(client, cluster.url, seconds + 6, lambda i: (METERED, "modelsat")))
    await asyncio.sleep(2.0)
    cluster.redis.kill()
    await asyncio.sleep(seconds)
    cluster.redis.start()
    back = time.monotonic()
    while not all([await shared(client, url) for url in cluster.proxy_urls]):
        await asyncio.sleep(0.05)
    shared_after = time.monotonic() - back
    results = await load
    statuses = Counter(status for _, status, _ in results)
    print(f"  {len(results)} requests around a {seconds:.0f} s outage: {dict(statuses)}", file=sys.stderr)
    print(f"  every replica shared again {shared_after:.2f} s after Redis came back", file=sys.stderr)
    return {
        "requests": len(results),
        "status_500": statuses[500],
        "no_reply": statuses[None],
        "not_200": len(results) - statuses[200],
        "shared_again_s": round(shared_after, 2),
    }


async def cpu_phase(client: httpx2.AsyncClient, cluster: Cluster, seconds: float) -> dict[str, Any]:
    """Each replica's CPU seconds per answered request under the same load (a metered key: limit + budget)."""
    await hammer(client, cluster.url, 2.0, lambda i: (METERED, "modelsat"))  # warm-up
    pids = [p.pid for p in cluster.proxies]
    before = [cpu_seconds(pid) for pid in pids]
    counts_before = [await answered(client, url) for url in cluster.proxy_urls]
    results = await hammer(client, cluster.url, seconds, lambda i: (METERED, "modelsat"))
    used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
    counts = [await answered(client, url) - c for url, c in zip(cluster.proxy_urls, counts_before, strict=True)]
    per_request = [u / max(c, 1) * 1000 for u, c in zip(used, counts, strict=True)]
    ok = sum(status == 200 for _, status, _ in results)
    print(f"  {ok} answered of {len(results)} in {seconds:.0f} s; per replica {counts}", file=sys.stderr)
    print(f"  CPU ms per request per replica: {[round(x, 2) for x in per_request]}", file=sys.stderr)
    return {
        "cpu_s": sum(used),
        "answered": sum(counts),
        "cpu_ms_per_request": round(sum(used) / max(sum(counts), 1) * 1000, 3),
    }


async def answered(client: httpx2.AsyncClient, url: str) -> int:
    text = (await client.get(url + "/metrics", headers=auth(ADMIN))).text
    return int(
        sum(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith('modelsat_key_requests_total{key="metered",status="200"}')
        )
    )


async def run(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both clusters up at once (only one under load at a time): CPU rounds alternate between them, so the other
    work on the machine weighs on both alike; then the phases on the redis cluster."""
    ports = {m: free_block(1) for m in MODELS}
    config = write_setup(folder / "redis", f"redis://127.0.0.1:{free_block(1)}/0", ports, args.rpm)
    memory_ports = {m: free_block(1) for m in MODELS}
    memory_config = write_setup(folder / "memory", "memory", memory_ports, args.rpm)
    figures: dict[str, Any] = {}
    limits = httpx2.Limits(max_connections=64, max_keepalive_connections=64)
    with (
        Cluster(config, 3, free_block(4), list(ports.values()), folder / "redis") as cluster,
        Cluster(memory_config, 3, free_block(4), list(memory_ports.values()), folder / "memory") as memory,
    ):
        async with httpx2.AsyncClient(timeout=60, limits=limits) as client:
            rounds: dict[str, list[dict[str, Any]]] = {"redis": [], "memory": []}
            for _ in range(args.rounds):
                for name, which in (("redis", cluster), ("memory", memory)):
                    print(f"cpu (state: {name})", file=sys.stderr)
                    rounds[name].append(await cpu_phase(client, which, args.cpu_seconds))
            for name, measured in rounds.items():
                cpu = sum(r["cpu_s"] for r in measured)
                answered_total = sum(r["answered"] for r in measured)
                figures[f"cpu_{name}"] = {
                    "requests_per_s": round(answered_total / (args.cpu_seconds * args.rounds), 1),
                    "cpu_ms_per_request": round(cpu / answered_total * 1000, 3),
                    "rounds_cpu_ms_per_request": [r["cpu_ms_per_request"] for r in measured],
                }
            print("limit", file=sys.stderr)
            figures["limit_accepted"] = await limit_phase(client, cluster, "limit-a", args.rpm)
            print("cool-down", file=sys.stderr)
            figures["cooldown_spread_s"] = round(await cooldown_phase(client, cluster, ports[VICTIM]), 3)
            print("reload", file=sys.stderr)
            figures["reload_all_routed_s"] = round(await reload_phase(client, cluster, config, free_block(1)), 3)
            print("redis outage", file=sys.stderr)
            figures["outage"] = await outage_phase(client, cluster, args.outage)
            figures["limit_accepted_after_outage"] = await limit_phase(client, cluster, "limit-b", args.rpm)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=int, default=60, help="the limited keys' requests per minute")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds Redis stays down")
    parser.add_argument("--cpu-seconds", type=float, default=10.0, help="seconds of load per CPU measurement")
    parser.add_argument("--rounds", type=int, default=3, help="CPU measurements per state, alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelsat-bench-") as tmp:
        (Path(tmp) / "redis").mkdir()
        (Path(tmp) / "memory").mkdir()
        figures = asyncio.run(run(Path(tmp), args))
    ratio = figures["cpu_redis"]["cpu_ms_per_request"] / figures["cpu_memory"]["cpu_ms_per_request"]
    figures["cpu_ratio_redis_to_memory"] = round(ratio, 3)
    outage = figures["outage"]
    bounds = {
        "limit_exact": abs(figures["limit_accepted"] - args.rpm) <= 1,
        "cooldown_within_1s": figures["cooldown_spread_s"] <= 1.0,
        "reload_within_2s": figures["reload_all_routed_s"] <= 2.0,
        "outage_no_500_no_lost": outage["status_500"] == 0 and outage["no_reply"] == 0,
        "shared_again_within_5s": outage["shared_again_s"] <= 5.0,
        "limit_exact_after_outage": abs(figures["limit_accepted_after_outage"] - args.rpm) <= 1,
        "cpu_within_15pct": ratio <= 1.15,
    }
    summary = {"rpm": args.rpm, "clients": CLIENTS, "replicas": 3, **figures, "bounds": bounds}
    summary["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary))
    if not all(bounds.values()):
        failed = ", ".join(name for name, ok in bounds.items() if not ok)
        print(f"failed: {failed}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
