"""`make demo`: the main job end to end on the real data with the shipped router.

Imports the MMLU-Pro zoo, summarises it, routes real test instructions with the shipped router
(`routers/default`) and evaluates it against the baselines on a sample of test queries, with Phi-3-mini,
which the router never trained on, joining by its aptitude card (the report's `new_models` section). The
evaluation runs both routing modes on the same queries (`model-sat`: full, with the capability LLM;
`model-sat-fast`: encoder and accuracy readout only) and the demo ends with their accuracy, the difference
with its 95 % interval, and their routing latency. Each step prints the `modelsat` command it runs, so the demo
doubles as a tour of the CLI.

    python -m modelsat.demo [--limit 300]
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from modelsat.data.locate import data_dir
from modelsat.data.splits import split_outcomes

OUT = Path("out/demo")
ROUTER = Path("routers/default")
NEW_MODEL = "Phi-3-mini-4k-instruct"  # the shipped router never trained on it: it joins by its card


def run(*args: str) -> None:
    """Run one `modelsat` command, echoing it first; stop the demo if it fails."""
    print(f"\n$ modelsat {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "modelsat.cli.main", *args])
    if done.returncode != 0:
        sys.exit(done.returncode)


def demo_instructions(outcomes_path: Path, aptitude_path: Path, n: int) -> Path:
    """A JSONL file of `n` real test-split instructions (aptitude questions excluded), one per category."""
    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.data.schema import read_outcomes

    table = read_outcomes(outcomes_path)
    test = split_outcomes(table, "test", exclude=AptitudeSet.load(aptitude_path).query_ids)
    picked = test.drop_duplicates("query_id").drop_duplicates("category").head(n)
    path = OUT / "instructions.jsonl"
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in picked["prompt"]))
    return path


def modes_summary(report: dict) -> str:
    """The default mode against each baseline, then both routing modes side by side: routed accuracy, routing
    latency, and full minus fast, each difference with its 95 % interval."""
    lines = ["", "fast mode (the default) minus each method, points [95 % interval]:"]
    for method, diff in report["model_sat_fast_vs"].items():
        low, high = (100 * v for v in diff["ci95"])
        lines.append(f"  {method:20s} {100 * diff['difference']:+5.1f} [{low:+.1f}, {high:+.1f}]")
    lines += ["", "routing mode          accuracy   route ms p50   route ms p90"]
    for method, mode in (("model-sat-fast", "fast (default)"), ("model-sat", "full")):
        timing = report["timing"]["by_method"][method]
        accuracy = 100 * report["methods"][method]["accuracy"]
        lines.append(f"{mode:20s} {accuracy:8.1f} %   {timing['route_ms_p50']:12.1f}   {timing['route_ms_p90']:12.1f}")
    diff = report["model_sat_vs"]["model-sat-fast"]
    low, high = (100 * v for v in diff["ci95"])
    lines.append(f"full minus fast: {100 * diff['difference']:+.1f} points, 95 % interval [{low:+.1f}, {high:+.1f}]")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Route real instructions with the shipped router.")
    parser.add_argument("--limit", type=int, default=300, help="test queries in the evaluation sample")
    args = parser.parse_args()
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    outcomes = OUT / "mmlu.parquet"
    if not outcomes.is_file():
        run("import", "mmlu-pro", str(data_dir() / "mmlu-pro"), "-o", str(outcomes))
    run("data", "info", str(outcomes), "--zoo", "small-5")
    cards = OUT / "cards.json"
    run(
        "profile",
        "--outcomes",
        str(outcomes),
        "--router",
        str(ROUTER),
        "-o",
        str(cards),
        "--models",
        "Phi-3-mini-4k-instruct,mathstral-7B,Meta-Llama-3_1-8B,Qwen1.5-7B-Chat,Mistral-7B-Instruct-v0.2",
    )
    instructions = demo_instructions(outcomes, ROUTER / "aptitude.json", 4)
    run("route", "--router", str(ROUTER), "--cards", str(cards), "--file", str(instructions))
    run(
        "evaluate",
        "--outcomes",
        str(outcomes),
        "--zoo",
        "small-5",
        "--router",
        str(ROUTER),
        "--cards",
        str(cards),
        "--holdout",
        NEW_MODEL,
        "--baselines",
        "per-category,tfidf-knn,card-lookup",
        "--limit",
        str(args.limit),
        "-o",
        str(OUT / "report.json"),
        "--markdown",
        str(OUT / "report.md"),
    )
    print(modes_summary(json.loads((OUT / "report.json").read_text())))
    print(f"\ndemo finished in {time.time() - started:.0f} s; report in {OUT / 'report.json'}")


if __name__ == "__main__":
    main()
