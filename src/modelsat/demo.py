"""`make demo`: the main job end to end on the real data with the shipped router.

Imports the MMLU-Pro zoo, summarises it, routes real test instructions with the shipped router, the one router of
every kind of request (`routers/default`), and evaluates it against the baselines on a sample of test queries, with
Phi-3-mini, which the router never trained on, joining by its aptitude card (the report's `new_models` section). The
cards are made from MMLU-Pro results alone, so they are partial: tested on the aptitude test's MMLU-Pro tasks only.
The evaluation runs both routing modes on the same queries (`model-sat`: full, with the capability LLM;
`model-sat-fast`: encoder and accuracy readout only), and the demo prints the default (fast) mode against each
baseline and against full mode, each difference with its 95 % interval, and their routing latency. Then mixed
traffic: one test question of each kind (an MMLU-Pro question, a GSM8K word problem, a Python function, a CMMLU
question, an open-ended request) routed by the same router among a team of seven models from three zoos, each
tested in its own zoo only, beside the candidate whose card is strongest on that kind. Each step prints the
`modelsat` command it runs, so the demo doubles as a tour of the CLI.

    python -m modelsat.demo [--limit 300]
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from modelsat.data.locate import data_dir
from modelsat.data.splits import split_outcomes

if TYPE_CHECKING:
    from modelsat.aptitude.cards import Card

OUT = Path("out/demo")
ROUTER = Path("routers/default")
NEW_MODEL = "Phi-3-mini-4k-instruct"  # the shipped router never trained on it: it joins by its card
# A team's zoo across kinds of request: two MMLU-Pro models (gemini by card), three RouterDC specialists, two AlpacaEval
# chat models (gpt4_1106_preview by card); the router's cards, each tested in its own zoo only.
TEAM = (
    "gemini-1.5-pro-002,Qwen1.5-7B-Chat,MetaMath-Mistral-7B,dolphin-2.9-llama3-8b,Chinese-Mistral-7B-v0.1,"
    "gpt4_1106_preview,vicuna-7b"
)
MIXED_KINDS = {  # kind of request → (outcomes table, query-id prefix of its test questions and of its card entries)
    "MMLU-Pro question": ("mmlu", "mmlu-pro/"),
    "GSM8K word problem": ("specialists", "routerdc/gsm8k/"),
    "Python function": ("specialists", "routerdc/humaneval/"),
    "CMMLU question": ("specialists", "routerdc/cmmlu/"),
    "open-ended request": ("chat", "alpaca-eval/"),
}


def run(*args: str) -> None:
    """Run one `modelsat` command, echoing it first; stop the demo if it fails."""
    print(f"\n$ modelsat {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "modelsat.cli.main", *args])
    if done.returncode != 0:
        sys.exit(done.returncode)


def run_json(*args: str) -> object:
    """Run one `modelsat` command that prints one JSON document, echoing the command first; its parsed output."""
    print(f"\n$ modelsat {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "modelsat.cli.main", *args], stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(done.returncode)
    return json.loads(done.stdout)


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


def mixed_questions(tables: Mapping[str, Path], exclude: Iterable[str]) -> dict[str, str]:
    """One seeded test-split question of each `MIXED_KINDS` kind (`tables`: its outcomes table by name; the query ids
    in `exclude`, a router's aptitude questions, left out): kind → prompt. The same whether the tables are each
    zoo's own import or one table of `modelsat import all`."""
    from modelsat.data.schema import read_outcomes

    questions = {}
    for kind, (table, prefix) in MIXED_KINDS.items():
        test = split_outcomes(read_outcomes(tables[table]), "test", exclude=set(exclude)).drop_duplicates("query_id")
        test = test[test["query_id"].str.startswith(prefix)].sort_values("query_id")
        questions[kind] = str(test["prompt"].sample(1, random_state=0).iloc[0])
    return questions


def strongest_by_card(cards: Mapping[str, "Card"], prefix: str) -> str:
    """The model of `cards` whose card has the best mean accuracy on the entries named `prefix…` (tested ones)."""

    def mean(model: str) -> float:
        tested = [s.accuracy for s in cards[model].scores if s.task.startswith(prefix) and s.accuracy is not None]
        return sum(tested) / len(tested) if tested else -1.0

    return max(cards, key=mean)


def mixed_summary(routes: list[dict], kinds: Iterable[str]) -> str:
    """Each kind of request, the model the one router sent it to, and the candidate strongest on it by card."""
    from modelsat.aptitude.cards import load_cards

    cards = load_cards(ROUTER / "cards.json")
    team = {model: cards[model] for model in TEAM.split(",")}
    lines = ["", "mixed traffic, one router:", f"  {'request':20s} {'routed to':26s} strongest by card on its kind"]
    for kind, route in zip(kinds, routes, strict=True):
        lines.append(f"  {kind:20s} {route['model']:26s} {strongest_by_card(team, MIXED_KINDS[kind][1])}")
    return "\n".join(lines)


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
        "--partial",
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
    tables = {"mmlu": outcomes, "specialists": OUT / "specialists.parquet", "chat": OUT / "chat.parquet"}
    if not tables["specialists"].is_file():
        run("import", "routerdc", str(data_dir() / "routerdc"), "-o", str(tables["specialists"]))
    if not tables["chat"].is_file():
        run("import", "alpaca-eval", str(data_dir() / "alpaca-eval" / "results.zip"), "-o", str(tables["chat"]))
    from modelsat.aptitude.aptitude_set import AptitudeSet

    questions = mixed_questions(tables, AptitudeSet.load(ROUTER / "aptitude.json").query_ids)
    mixed = OUT / "mixed.jsonl"
    mixed.write_text("".join(json.dumps({"prompt": prompt}) + "\n" for prompt in questions.values()))
    routes = run_json("route", "--router", str(ROUTER), "--models", TEAM, "--file", str(mixed), "--json")
    assert isinstance(routes, list)
    print(mixed_summary(routes, questions))
    print(f"\ndemo finished in {time.time() - started:.0f} s; report in {OUT / 'report.json'}")


if __name__ == "__main__":
    main()
