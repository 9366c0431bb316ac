"""Chaos soak of `modelsat serve` with the shipped router: clients stream and ask while backends die and misbehave.

The proxy runs as `modelsat serve` (a separate process, the real router `routers/default`) in front of five
local backends: four chaos echo servers (this file; they stream one word per event) and SmolLM2 served by
`modelsat backend --model hf:smollm2`. `--clients` concurrent clients send plain and streamed requests for
`modelsat` and for single-model profiles, while a schedule kills and restarts backends (SIGKILL, streams in
flight included), slows them, makes them hang past `timeout_s`, answer garbage, or go silent mid-stream.
Halfway through, a sixth model joins: its card comes from `modelsat profile` against the router's aptitude
set, serve.yaml gains its backend, and POST /admin/reload applies both (faults pause around the reload; a
failure in that window with no fault in force on its backends is the reload's).

It prints the outcomes by kind, a table of the failed requests by cause (the fault in force on their backend, the
proxy's cool-down, or the reload: `chaos_causes.py`), latency percentiles, the proxy's resident memory over time and
its slope after warm-up, then one JSON line of those figures with every failure's cause; it exits 1 when an
acceptance condition fails (docs/serving.md). Clients go on past `--minutes` (at most 60 s) until every backend
hit by a fault has answered a client again, so each recovery is timed.

Example:
    $ .venv/bin/python benchmarks/chaos.py --minutes 10 --clients 16
    $ .venv/bin/python benchmarks/chaos.py --minutes 1.5 --clients 4 --no-smollm2   # a quick look
    $ .venv/bin/python benchmarks/chaos.py --minutes 4 --clients 16 --redis         # state: redis://
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
import yaml
from chaos_causes import OK, Cause, FaultSpan, cause_of, grouped, health_spans, involved, print_table
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from modelsat.serve.backends import EchoBackend
from modelsat.serve.cluster import RedisServer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "modelsat.cli.main"]
ECHO_MODELS = ["Qwen1.5-7B-Chat", "DeepSeek-Coder-V2", "Meta-Llama-3_1-8B", "Phi-3-mini-4k-instruct"]
SMOLLM2_MODEL = "mathstral-7B"  # answered by the real SmolLM2-135M
NEW_MODEL = "gemini-1.5-pro-002"  # joins by reload
CLIENT_KEY, ADMIN_KEY = "chaos-client-key", "chaos-admin-key"
MAX_TOKENS = 12
ROUTE_CHECK = "Which gas makes up most of the air?"
PROMPTS = [
    "Solve for x: 3x + 7 = 22, and show each step.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Which gas makes up most of the Earth's atmosphere?",
    "Explain the difference between mitosis and meiosis in two sentences.",
    "What was the main cause of the fall of the Western Roman Empire?",
    "Integrate x squared from zero to three and explain the result.",
    "Name three rhetorical devices used in Shakespeare's sonnets.",
    "Find the derivative of sin(x) times e to the x.",
    "What does a central bank do when it raises interest rates?",
    "Translate 'the weather is lovely today' into French.",
]


# --- chaos echo backend (runs in its own process) ---------------------------------------------------------


def chaos_echo_app(name: str, event_delay_s: float) -> FastAPI:
    """The echo backend, streaming one word per event, with a mode switched by POST /chaos:
    ok, slow (1 s), hang (30 s before answering), garbage (HTML), silent (a stream stops after 3 events)."""
    app = FastAPI()
    echo = EchoBackend(name)
    mode = {"mode": "ok"}

    @app.post("/chaos")
    async def set_mode(request: Request) -> dict[str, str]:
        mode.update(await request.json())
        return mode

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        current = mode["mode"]
        if current in ("slow", "hang"):
            await asyncio.sleep(1.0 if current == "slow" else 30.0)
        if current == "garbage":
            return PlainTextResponse("<html><body>502 upstream hiccup</body></html>", status_code=200)
        if not body.get("stream"):
            return JSONResponse(await echo.complete(body))

        async def events() -> Any:
            async for i, event in _enumerate(echo.stream(body)):
                if current == "silent" and i == 3:
                    await asyncio.sleep(3600)
                yield event
                await asyncio.sleep(event_delay_s)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


async def _enumerate(chunks: Any) -> Any:
    i = 0
    async for chunk in chunks:
        yield i, chunk
        i += 1


def run_chaos_echo(name: str, port: int, event_delay_s: float) -> None:
    uvicorn.run(chaos_echo_app(name, event_delay_s), host="127.0.0.1", port=port, log_level="warning")


# --- processes ----------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Backend:
    """One backend process the schedule can kill, restart and switch."""

    model: str
    port: int
    kind: str  # echo or smollm2
    event_delay_s: float = 0.03
    process: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.kind == "echo":
            ctx = mp.get_context("spawn")
            self.process = ctx.Process(target=run_chaos_echo, args=(self.model, self.port, self.event_delay_s))
            self.process.start()
        else:
            command = [*CLI, "backend", "--model", "hf:smollm2", "--port", str(self.port), "--threads", "1"]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            (self.process.join if self.kind == "echo" else self.process.wait)()


async def wait_ready(url: str, timeout_s: float = 300) -> float:
    """Seconds until `url`/healthz answers."""
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() - start < timeout_s:
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not start within {timeout_s} s")


def process_status(pid: int) -> dict[str, float]:
    """Resident memory (MB: all, anonymous) and thread count of process `pid` (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "anon_mb": int(fields["RssAnon"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
    }


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB."""
    return process_status(pid)["rss_mb"]


# --- configuration ------------------------------------------------------------------------------------


def write_config(folder: Path, backends: list[Backend], outcomes: Path, state: str) -> None:
    """serve.yaml, keys.yaml and cards.json (from `modelsat profile`) for `backends`; `state` is serve.yaml's."""
    models = [b.model for b in backends]
    subprocess.run(
        [*CLI, "profile", "--outcomes", str(outcomes), "--router", str(ROOT / "routers/default"),
         "--models", ",".join(models), "--partial", "-o", str(folder / "cards.json.new")],
        check=True, capture_output=True,
    )  # fmt: skip
    entries = {
        b.model: {
            "base_url": b.url + "/v1",
            "model": "smollm2" if b.kind == "smollm2" else "echo",
            "timeout_s": 30 if b.kind == "smollm2" else 2,
            "price": {"input": 0.2, "output": 0.4},
        }
        for b in backends
    }
    keys = {"keys": [{"name": "clients", "key": CLIENT_KEY}, {"name": "ops", "key": ADMIN_KEY, "admin": True}]}
    (folder / "keys.yaml").write_text(yaml.safe_dump(keys))
    config = {
        "router": str(ROOT / "routers/default"),
        "cards": "cards.json",
        "keys": "keys.yaml",
        "state": state,
        "fallbacks": 2,
        "stream_idle_s": 15,  # a queued SmolLM2 stream sends nothing until its turn: 15 s of silence is a stall
        "cooldown": {"failures": 3, "window_s": 20, "cooldown_s": 5, "probe_timeout_s": 2},
        "backends": entries,
        "profiles": {f"solo-{i}": [m] for i, m in enumerate(models)},
    }
    os.replace(folder / "cards.json.new", folder / "cards.json")
    (folder / "serve.yaml.new").write_text(yaml.safe_dump(config, sort_keys=False))
    os.replace(folder / "serve.yaml.new", folder / "serve.yaml")


# --- clients ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One client request: when, what, and how it ended."""

    start: float
    end: float
    stream: bool
    kind: str  # answered, fell_back, all_failed_502, interrupted_with_error_event, or a failure kind
    model: str | None = None  # the model that answered (x-modelsat-model)
    detail: str = ""
    asked: str = ""  # the model name sent, with a one-model profile's model in brackets
    asked_model: str | None = None  # a one-model profile's model
    status: int | None = None
    tried: str = ""  # the proxy's x-modelsat-fallback and x-modelsat-skipped headers


@dataclass
class Run:
    """Everything measured during the soak."""

    outcomes: list[Outcome] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    threads: list[tuple[float, int, float]] = field(default_factory=list)  # (time, threads, anonymous MB)
    load: list[float] = field(default_factory=list)  # the machine's 1-minute load average at each sample
    recoveries: list[dict[str, Any]] = field(default_factory=list)
    reload: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    faults: list[FaultSpan] = field(default_factory=list)
    health: list[tuple[float, dict[str, dict[str, Any]]]] = field(default_factory=list)  # /v1/backends samples
    pending: int = 0  # faults whose backend has not answered a client again yet


def classify_stream(text: str) -> tuple[str, str]:
    """(kind, content) of a streamed body: whole, cut with an error event (content: its message), or cut silently."""
    content, done, error = [], False, None
    for block in text.split("\n\n"):
        data = block.removeprefix("data: ").strip()
        if not block.startswith("data: "):
            continue
        if data == "[DONE]":
            done = True
            break
        payload = json.loads(data)
        if "error" in payload:
            error = payload["error"]
            break
        content.append(payload["choices"][0]["delta"].get("content") or "")
    if error is not None:
        kind = "interrupted_with_error_event" if error.get("code") == "stream_interrupted" else "other"
        return kind, str(error.get("message", ""))
    return ("whole" if done else "cut_silently"), "".join(content)


def expected_echo(prompt: str) -> str:
    return " ".join(prompt.split()[:MAX_TOKENS])


async def one_request(client: httpx.AsyncClient, rng: random.Random, models: list[str], n: int) -> Outcome:
    stream = rng.random() < 0.5
    profile = rng.randrange(len(models)) if rng.random() < 0.4 else None
    target = "modelsat" if profile is None else f"modelsat/solo-{profile}"
    asked_model = None if profile is None else models[profile]
    asked = target if asked_model is None else f"{target} [{asked_model}]"
    prompt = f"{rng.choice(PROMPTS)} (#{n})"
    body = {"model": target, "messages": [{"role": "user", "content": prompt}], "max_tokens": MAX_TOKENS}
    body |= {"stream": True} if stream else {"temperature": 0}
    start = time.monotonic()
    sent = {"asked": asked, "asked_model": asked_model}
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            text = (await response.aread()).decode()
    except httpx.HTTPError as exc:
        return Outcome(start, time.monotonic(), stream, "no_reply", detail=type(exc).__name__, **sent)
    end = time.monotonic()
    model = response.headers.get("x-modelsat-model")
    said = [response.headers.get(h, "") for h in ("x-modelsat-fallback", "x-modelsat-skipped")]
    tried = ", ".join(dict.fromkeys(p.strip() for part in said for p in part.split(",") if p.strip()))
    sent |= {"status": response.status_code, "tried": tried}
    if response.status_code != 200:
        kind = {502: "all_failed_502", 500: "server_error_500"}.get(response.status_code, "other")
        return Outcome(start, end, stream, kind, model, f"{response.status_code} {text[:200]}", **sent)
    if stream:
        kind, content = classify_stream(text)
    else:
        kind, content = "whole", json.loads(text)["choices"][0]["message"]["content"]
    if kind == "whole":
        if model != SMOLLM2_MODEL and content != expected_echo(prompt):
            return Outcome(start, end, stream, "wrong_answer", model, content[:200], **sent)
        kind = "fell_back" if "x-modelsat-fallback" in response.headers else "answered"
        content = ""
    return Outcome(start, end, stream, kind, model, content[:200], **sent)


async def client_loop(url: str, seed: int, run: Run, models: list[str], stop: float) -> None:
    rng = random.Random(seed)
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        n = 0
        while time.monotonic() < stop or (run.pending and time.monotonic() < stop + 60):
            run.outcomes.append(await one_request(client, rng, models, seed * 1_000_000 + n))
            n += 1


# --- schedule -----------------------------------------------------------------------------------------


async def set_mode(backend: Backend, mode: str) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        await client.post(backend.url + "/chaos", json={"mode": mode})


async def first_answer_by(run: Run, model: str, after: float, until: float) -> float | None:
    """Seconds from `after` to the first request started after it that `model` answered (waits until `until`)."""
    while time.monotonic() < until:
        answered = [o.end for o in run.outcomes if o.model == model and o.start >= after and o.kind == "answered"]
        if answered:
            return min(answered) - after
        await asyncio.sleep(0.2)
    return None


async def recover(run: Run, backend: Backend, what: str, ready_at: float, until: float) -> float | None:
    seconds = await first_answer_by(run, backend.model, ready_at, until)
    run.recoveries.append({"model": backend.model, "fault": what, "seconds": seconds})
    return seconds


async def fault(run: Run, backend: Backend, what: str, hold_s: float, stop: float) -> None:
    """Apply fault `what` to `backend` for `hold_s` seconds, then measure how soon it answers again."""
    run.events.append(f"{time.monotonic():.1f} {backend.model}: {what} for {hold_s:.0f} s")
    span = FaultSpan(backend.model, what, time.monotonic())
    run.faults.append(span)
    run.pending += 1
    try:
        if what == "kill":
            await asyncio.to_thread(backend.kill)
            await asyncio.sleep(hold_s)
            backend.start()
            await wait_ready(backend.url)
        else:
            await set_mode(backend, what)
            await asyncio.sleep(hold_s)
            await set_mode(backend, "ok")
        ready_at = time.monotonic()
        seconds = await recover(run, backend, what, ready_at, stop + 60)
        span.end = float("inf") if seconds is None else ready_at + seconds
    finally:
        run.pending -= 1


async def schedule(run: Run, backends: list[Backend], start: float, stop: float, quiet: tuple[float, float]) -> None:
    """A fault every 12 s, round-robin over backends and kinds, none inside the `quiet` window (all faults
    before it are over, and their backends probed back, by the time it ends)."""
    echo = [b for b in backends if b.kind == "echo"]
    smol = [b for b in backends if b.kind == "smollm2"]
    plan = [
        (echo[0], "kill", 12),
        (echo[1], "hang", 20),
        (echo[2], "garbage", 15),
        *[(b, "kill", 10) for b in smol],
        (echo[3], "silent", 15),
        (echo[1], "slow", 15),
        (echo[2], "kill", 8),
        (echo[0], "garbage", 10),
    ]
    tasks, step, at = [], 0, start + 10
    busy: set[str] = set()  # backends under a fault or not yet answering again: their recovery is still timed
    while at < stop - 25:
        if not (quiet[0] <= at <= quiet[1]):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            for _ in plan:
                backend, what, hold = plan[step % len(plan)]
                step += 1
                if backend.model not in busy:
                    busy.add(backend.model)
                    task = asyncio.create_task(fault(run, backend, what, hold, stop))
                    task.add_done_callback(lambda _, model=backend.model: busy.discard(model))
                    tasks.append(task)
                    break
        at += 12
    await asyncio.gather(*tasks)


async def reload_new_model(run: Run, url: str, folder: Path, backends: list[Backend], new: Backend, outcomes: Path,
                           at: float, state: str) -> None:  # fmt: skip
    """At `at`: profile the new model with the others, add its backend to serve.yaml, POST /admin/reload."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    await asyncio.to_thread(write_config, folder, [*backends, new], outcomes, state)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        started = time.monotonic()
        reply = await client.post("/admin/reload", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        finished = time.monotonic()
        ask = {"prompt": ROUTE_CHECK}  # the strong new model ranks first for it (README's loop)
        ranked = await client.post("/v1/route", json=ask, headers={"authorization": f"Bearer {CLIENT_KEY}"})
        routed = time.monotonic()
    run.reload = {"status": reply.status_code, "body": reply.json(), "start": started, "end": finished}
    run.reload["route_check"] = {
        "sent_after_s": round(routed - finished - ranked.elapsed.total_seconds(), 3),
        "answered_after_s": round(routed - finished, 3),
        "top": ranked.json()["model"] if ranked.status_code == 200 else f"HTTP {ranked.status_code}",
    }
    answered = await first_answer_by(run, new.model, finished, finished + 30)
    first = min((o for o in run.outcomes if o.model == new.model and o.start >= finished), key=lambda o: o.start,
                default=None)  # fmt: skip
    run.reload["new_model_answered_after_s"] = answered
    run.reload["new_model_routed_after_s"] = None if first is None else first.start - finished


async def sample_health(run: Run, url: str, stop: float, every_s: float = 0.25) -> None:
    """The proxy's view of its backends (`/v1/backends`: up, cooling, probing) over the soak."""
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=5) as client:
        while time.monotonic() < stop or run.pending:
            try:
                data = (await client.get("/v1/backends")).json()["data"]
            except httpx.HTTPError:
                data = None
            if data is not None:
                run.health.append((time.monotonic(), {b["id"]: b for b in data}))
            await asyncio.sleep(every_s)


async def sample_memory(run: Run, pid: int, stop: float, every_s: float) -> None:
    while time.monotonic() < stop:
        status = process_status(pid)
        run.rss.append((time.monotonic(), status["rss_mb"]))
        run.threads.append((time.monotonic(), status["threads"], status["anon_mb"]))
        run.load.append(os.getloadavg()[0])
        await asyncio.sleep(every_s)


# --- report -------------------------------------------------------------------------------------------


def summarise(run: Run, start: float, warmup_s: float, reload_window: tuple[float, float] | None) -> dict[str, Any]:
    kinds = Counter(o.kind for o in run.outcomes)
    done = [o.end - o.start for o in run.outcomes if o.kind in ("answered", "fell_back")]
    times = np.array([t - start for t, _ in run.rss])
    mb = np.array([m for _, m in run.rss])
    late = times >= warmup_s
    slope = float(np.polyfit(times[late] / 60, mb[late], 1)[0]) if late.sum() >= 3 else float("nan")
    at_warmup = float(mb[late][0]) if late.any() else float("nan")
    growth = 100 * (float(mb[-1]) - at_warmup) / at_warmup if late.any() else float("nan")
    recovered = [r["seconds"] for r in run.recoveries]
    causes = failure_causes(run, start, reload_window)
    around = [c for c in causes if c.phase == "around"]
    by_minute: dict[int, float] = {}
    for t, m in run.rss:
        by_minute.setdefault(int((t - start) // 60), m)
    threads_by_minute: dict[int, int] = {}
    for t, n, _ in run.threads:
        threads_by_minute.setdefault(int((t - start) // 60), n)
    return {
        "requests": len(run.outcomes),
        "outcomes": dict(sorted(kinds.items())),
        "streams": sum(o.stream for o in run.outcomes),
        "latency_ms_p50": round(float(np.percentile(done, 50)) * 1000, 1) if done else None,
        "latency_ms_p99": round(float(np.percentile(done, 99)) * 1000, 1) if done else None,
        "faults": len(run.recoveries),
        "recovery_s_max": None if None in recovered or not recovered else round(max(recovered), 2),
        "never_recovered": [r for r in run.recoveries if r["seconds"] is None],
        "recoveries": [f"{r['model']}:{r['fault']}:{r['seconds'] and round(r['seconds'], 1)}" for r in run.recoveries],
        "rss_mb_by_minute": {str(k): round(v, 1) for k, v in sorted(by_minute.items())},
        "threads_by_minute": {str(k): v for k, v in sorted(threads_by_minute.items())},
        "load_average_mean": round(float(np.mean(run.load)), 1) if run.load else None,
        "load_average_max": round(float(np.max(run.load)), 1) if run.load else None,
        "cpus": os.cpu_count(),
        "rss_mb_after_warmup": round(at_warmup, 1),
        "rss_mb_end": round(float(mb[-1]), 1),
        "rss_growth_pct_after_warmup": round(growth, 2),
        "rss_slope_mb_per_min_after_warmup": round(slope, 2),
        "reload_status": run.reload.get("status"),
        "reload_s": round(run.reload["end"] - run.reload["start"], 3) if run.reload else None,
        "reload_window_failed_requests": len(around),
        "reload_failed_requests": sum(c.cause == "reload" for c in causes),
        "failures_by_cause": dict(sorted(Counter(c.cause for c in causes).items())),
        "failure_groups": grouped(causes),
        "reload_window_failures": [c.as_dict() for c in around],
        "failures_without_fault": [c.as_dict() for c in causes if c.cause in ("reload", "backend")],
        "new_model_routed_after_s": run.reload.get("new_model_routed_after_s"),
        "new_model_answered_after_s": run.reload.get("new_model_answered_after_s"),
        "route_check_after_reload": run.reload.get("route_check"),
    }


def failure_causes(run: Run, t0: float, window: tuple[float, float] | None) -> list[Cause]:
    """The cause of every request neither answered nor fallen back (`chaos_causes.py`)."""
    health = health_spans(run.health)
    return [
        cause_of(o, involved(o.asked_model, o.model, o.tried), run.faults, health, window, t0)
        for o in run.outcomes
        if o.kind not in OK
    ]


def failures(summary: dict[str, Any], with_reload: bool) -> list[str]:
    """The acceptance conditions that failed."""
    kinds = summary["outcomes"]
    problems = [f"{n} × {k}" for k, n in kinds.items() if k in ("server_error_500", "no_reply", "cut_silently")]
    problems += [f"{n} × {k}" for k, n in kinds.items() if k in ("wrong_answer", "other")]
    if summary["never_recovered"] or (summary["recovery_s_max"] or 0) > 30:
        problems.append(f"recovery over 30 s: {summary['recovery_s_max']} / {summary['never_recovered']}")
    if not summary["rss_growth_pct_after_warmup"] < 5:
        problems.append(f"memory grew {summary['rss_growth_pct_after_warmup']} % after warm-up")
    if with_reload:
        if summary["reload_status"] != 200 or summary["reload_failed_requests"]:
            problems.append(f"reload: status {summary['reload_status']}, {summary['reload_failed_requests']} failed "
                            "with no fault in force on their backends")  # fmt: skip
        check = summary["route_check_after_reload"] or {}
        if check.get("top") != NEW_MODEL or check.get("sent_after_s", 2) > 1.0:
            problems.append(f"a routing request sent right after the reload did not pick {NEW_MODEL}: {check}")
        if summary["new_model_routed_after_s"] is None:
            problems.append(f"no client request was routed to {NEW_MODEL}")
    return problems


async def soak(args: argparse.Namespace, folder: Path, outcomes: Path) -> tuple[dict[str, Any], list[str]]:
    backends = [Backend(m, free_port(), "echo") for m in ECHO_MODELS]
    if args.smollm2:
        backends.append(Backend(SMOLLM2_MODEL, free_port(), "smollm2"))
    new = Backend(NEW_MODEL, free_port(), "echo")
    for backend in [*backends, new]:
        backend.start()
    redis = RedisServer(free_port(), folder).start() if args.redis else None
    state = redis.url if redis is not None else "memory"
    write_config(folder, backends, outcomes, state)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "proxy.log").open("w")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proxy = subprocess.Popen([*CLI, "serve", "--config", "serve.yaml", "--port", str(port)], cwd=folder, env=env,
                             stdout=log, stderr=log)  # fmt: skip
    try:
        for backend in [*backends, new]:
            await wait_ready(backend.url)
        await wait_ready(url)
        run = Run()
        start = time.monotonic()
        stop = start + args.minutes * 60
        reload_at = start + args.minutes * 60 * 0.5 if args.reload else None
        quiet = (reload_at - 45, reload_at + 40) if reload_at else (float("inf"), float("inf"))
        models = [b.model for b in backends]
        jobs = [client_loop(url, seed, run, models, stop) for seed in range(args.clients)]
        jobs += [schedule(run, backends, start, stop, quiet), sample_memory(run, proxy.pid, stop, args.sample_s)]
        jobs.append(sample_health(run, url, stop))
        if reload_at:
            jobs.append(reload_new_model(run, url, folder, backends, new, outcomes, reload_at, state))
        await asyncio.gather(*jobs)
        run.rss.append((time.monotonic(), rss_mb(proxy.pid)))
        window = (run.reload["start"] - 1, run.reload["end"] + 1) if run.reload else None
        summary = summarise(run, start, min(args.warmup_minutes * 60, args.minutes * 20), window)
        summary |= {"minutes": args.minutes, "clients": args.clients, "smollm2": args.smollm2}
        summary["state"] = "redis" if redis is not None else "memory"
        return summary, failures(summary, args.reload)
    finally:
        proxy.send_signal(signal.SIGINT)
        try:
            proxy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proxy.kill()
        for backend in [*backends, new]:
            backend.kill()
        if redis is not None:
            redis.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--outcomes", type=Path, help="MMLU-Pro outcomes (modelsat import); imported when absent")
    parser.add_argument("--no-smollm2", dest="smollm2", action="store_false", help="five echo backends, no SmolLM2")
    parser.add_argument("--no-reload", dest="reload", action="store_false", help="skip adding the sixth model")
    parser.add_argument("--warmup-minutes", type=float, default=2.0, help="memory growth is measured after this")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--keep", type=Path, help="keep the configs and the proxy log in this folder")
    parser.add_argument("--redis", action="store_true", help="state: redis:// (a redis-server started for the run)")
    args = parser.parse_args()
    if not args.smollm2:
        ECHO_MODELS.append(SMOLLM2_MODEL)  # the same five model names, all echo
    folder = Path(args.keep or tempfile.mkdtemp(prefix="modelsat-chaos-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = args.outcomes
    if outcomes is None:
        outcomes = folder / "outcomes.parquet"
        if not outcomes.exists():
            data = Path(os.environ.get("MODELSAT_DATA", ROOT.parent / "shared" / "data"))
            subprocess.run([*CLI, "import", "mmlu-pro", str(data / "mmlu-pro"), "-o", str(outcomes)], check=True)
    summary, problems = asyncio.run(soak(args, folder, outcomes))
    kinds = summary["outcomes"]
    print(f"{summary['requests']} requests ({summary['streams']} streamed) in {args.minutes:g} min, "
          f"{args.clients} clients; {summary['faults']} faults injected", file=sys.stderr)  # fmt: skip
    for kind, n in kinds.items():
        print(f"  {kind:32s} {n:6d}  {100 * n / max(1, summary['requests']):5.1f} %", file=sys.stderr)
    print_table(summary["failure_groups"], summary["failures_without_fault"])
    print(f"latency p50 {summary['latency_ms_p50']} ms, p99 {summary['latency_ms_p99']} ms; slowest recovery "
          f"{summary['recovery_s_max']} s", file=sys.stderr)  # fmt: skip
    print(f"proxy RSS by minute (MB): {summary['rss_mb_by_minute']}; growth after warm-up "
          f"{summary['rss_growth_pct_after_warmup']} %, slope {summary['rss_slope_mb_per_min_after_warmup']} MB/min",
          file=sys.stderr)  # fmt: skip
    if args.reload:
        print(f"reload: HTTP {summary['reload_status']} in {summary['reload_s']} s, "
              f"{summary['reload_window_failed_requests']} failed requests around it, "
              f"{summary['reload_failed_requests']} of them with no fault in force; the first request routed to "
              f"{NEW_MODEL} was sent {summary['new_model_routed_after_s']} s after it and answered "
              f"{summary['new_model_answered_after_s']} s after it", file=sys.stderr)  # fmt: skip
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print(json.dumps(summary | {"failed": problems}))
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
