"""Routing modes side by side: `fast` (encoder + accuracy readout, no capability LLM) against `full`, in one run.

Over N real test instructions of `--outcomes` routed among a router's cards (68 for `routers/default`; `--candidates K`:
a seeded sample of K of them), at the thread count given (1 by default, as the DESIGN target reads):

- single requests: p50/p99 ms of `score_instructions([text])`, the two modes timed in turn on each request,
  so a change in the machine's load hits both alike and the ratio stays fair; wall time, and the CPU time of
  the routing thread (`*_cpu_*`: at one thread, what the request costs on a core of its own, whatever else
  runs on the machine);
- single requests in a process that loads one mode only, as `serve` runs (`alone_ms_*`: the other mode's
  forward passes no longer share the caches and matrix units between requests);
- batches: ms per request in batches of `--batch` requests (the two modes in turn on each batch);
- start-up and peak memory: each mode loaded and run on the same requests in a process of its own (peak
  resident set size, seconds from the interpreter's start to a loaded router, wall and CPU);
- agreement: the share of requests on which both modes pick the same model.

    .venv/bin/python benchmarks/route_modes.py [--router routers/default] [--n 200] [--batch 32] [--threads 1]
    .venv/bin/python benchmarks/route_modes.py --router routers/default --outcomes out/all.parquet --candidates 40
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()  # the child's start-up clock starts with the interpreter's first line here


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not `ru_maxrss`: that keeps the parent's peak across
    fork and exec, so a child started by a parent holding the outcomes would report the parent's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def child(mode: str, router: Path, prompts_file: Path, threads: int, models: list[str] | None) -> None:
    """Load one mode, route every request once among `models` (None: every card), print {load_s, peak_rss_mb}."""
    import torch

    from modelsat.router.routing.service import load_router

    torch.set_num_threads(threads)
    service = load_router(router, mode=mode)
    loaded = time.perf_counter() - START
    usage = resource.getrusage(resource.RUSAGE_SELF)
    loaded_cpu = usage.ru_utime + usage.ru_stime
    prompts = json.loads(prompts_file.read_text())
    service.score_instructions(prompts[:2], models)  # warm-up: card side and first-call costs
    alone_ms = []
    for prompt in prompts:
        started = time.perf_counter()
        service.score_instructions([prompt], models)
        alone_ms.append(1000 * (time.perf_counter() - started))
    peak_mb = peak_rss_mb()
    llm_imported = "modelsat.router.routing.llm.model" in sys.modules
    training_imported = any(name.startswith("modelsat.router.training") for name in sys.modules)
    print(
        json.dumps(
            {
                "load_s": loaded,
                "load_cpu_s": loaded_cpu,
                "peak_rss_mb": peak_mb,
                "alone_ms_p50": percentile(alone_ms, 50),
                "alone_ms_p99": percentile(alone_ms, 99),
                "llm_imported": llm_imported,
                "training_imported": training_imported,
            }
        )
    )


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, default=Path("routers/default"))
    parser.add_argument("--outcomes", type=Path, default=Path("out/mmlu.parquet"))
    parser.add_argument("--n", type=int, default=200, help="real test instructions routed one at a time")
    parser.add_argument("--batch", type=int, default=32, help="requests per batch in the batched figures")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--candidates", type=int, help="route among a seeded sample of this many cards (default: all)")
    parser.add_argument("--child", choices=["fast", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--prompts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--models", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.router, args.prompts, args.threads, args.models.split(",") if args.models else None)
        return

    import numpy as np
    import torch

    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.data.schema import read_outcomes
    from modelsat.data.splits import split_outcomes
    from modelsat.router.routing.service import load_router

    torch.set_num_threads(args.threads)
    aptitude = AptitudeSet.load(args.router / "aptitude.json")
    test = split_outcomes(read_outcomes(args.outcomes), "test", exclude=aptitude.query_ids)
    prompts = test.drop_duplicates("query_id")["prompt"].astype(str).sample(args.n, random_state=0).tolist()
    fast = load_router(args.router, mode="fast")
    models = fast.models
    if args.candidates is not None:
        if not 2 <= args.candidates <= len(models):
            parser.error(f"--candidates: between 2 and the router's {len(models)} cards")
        models = sorted(random.Random(0).sample(models, args.candidates))

    with tempfile.TemporaryDirectory() as tmp:  # start-up and memory: one process per mode, the same requests
        prompts_file = Path(tmp) / "prompts.json"
        prompts_file.write_text(json.dumps(prompts))
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        processes = {}
        for mode in ("fast", "full"):
            command = [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--router",
                str(args.router),
                "--prompts",
                str(prompts_file),
                "--threads",
                str(args.threads),
                "--models",
                ",".join(models),
            ]
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            processes[mode] = json.loads(done.stdout.strip().splitlines()[-1])

    full = fast.with_mode("full")
    services = {"fast": fast, "full": full}
    for service in services.values():  # warm-up: card side and first-call costs
        service.score_instructions(prompts[:2], models)
    single: dict[str, list[float]] = {mode: [] for mode in services}
    single_cpu: dict[str, list[float]] = {mode: [] for mode in services}
    picks: dict[str, list[int]] = {mode: [] for mode in services}
    for prompt in prompts:
        for mode, service in services.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            row = service.score_instructions([prompt], models)[0]
            single[mode].append(1000 * (time.perf_counter() - started))
            single_cpu[mode].append(1000 * (time.thread_time() - started_cpu))
            picks[mode].append(int(row.argmax()))
    batched: dict[str, list[float]] = {mode: [] for mode in services}
    batched_cpu: dict[str, list[float]] = {mode: [] for mode in services}
    for start in range(0, len(prompts) - args.batch + 1, args.batch):
        chunk = prompts[start : start + args.batch]
        for mode, service in services.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            service.score_instructions(chunk, models)
            batched[mode].append(1000 * (time.perf_counter() - started) / len(chunk))
            batched_cpu[mode].append(1000 * (time.thread_time() - started_cpu) / len(chunk))

    figures = {
        mode: {
            "single_ms_p50": round(percentile(single[mode], 50), 2),
            "single_ms_p99": round(percentile(single[mode], 99), 2),
            "single_cpu_ms_p50": round(percentile(single_cpu[mode], 50), 2),
            "single_cpu_ms_p99": round(percentile(single_cpu[mode], 99), 2),
            "alone_ms_p50": round(processes[mode]["alone_ms_p50"], 2),
            "alone_ms_p99": round(processes[mode]["alone_ms_p99"], 2),
            "batched_ms_per_request": round(float(np.median(batched[mode])), 2),
            "batched_cpu_ms_per_request": round(float(np.median(batched_cpu[mode])), 2),
            "load_s": round(processes[mode]["load_s"], 2),
            "load_cpu_s": round(processes[mode]["load_cpu_s"], 2),
            "peak_rss_mb": round(processes[mode]["peak_rss_mb"], 1),
            "imports_llm": processes[mode]["llm_imported"],
            "imports_training": processes[mode]["training_imported"],
        }
        for mode in services
    }
    summary = {
        "router": str(args.router),
        "candidates": len(models),
        "requests": len(prompts),
        "batch": args.batch,
        "threads": args.threads,
        "cpu_load_1min": round(os.getloadavg()[0], 2),
        "modes": figures,
        "full_over_fast": {
            "single_p50": round(figures["full"]["single_ms_p50"] / figures["fast"]["single_ms_p50"], 1),
            "single_cpu_p50": round(figures["full"]["single_cpu_ms_p50"] / figures["fast"]["single_cpu_ms_p50"], 1),
            "batched": round(figures["full"]["batched_ms_per_request"] / figures["fast"]["batched_ms_per_request"], 1),
            "peak_rss": round(figures["full"]["peak_rss_mb"] / figures["fast"]["peak_rss_mb"], 2),
        },
        "same_pick": round(float(np.mean(np.array(picks["fast"]) == np.array(picks["full"]))), 3),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
