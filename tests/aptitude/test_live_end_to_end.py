"""End to end: the bundled SmolLM2 backend takes a multiple-choice, math, code and open-ended aptitude test
live, SmolLM2 also standing in as the judge, and the router trained on that test accepts its card; and the
bundled SmolLM2 takes the shipped `routers/specialists` test (RouterDC's questions, graded with their answer
keys) live, and that router routes with its card."""

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import uvicorn
from mixed_zoo import mixed_table

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.aptitude.cards import load_cards
from modelsat.aptitude.live.answer_log import AnswerLog
from modelsat.data.importers import table
from modelsat.router.config import ModelsatConfig
from modelsat.router.routing.service import load_router
from modelsat.router.training.train import train_router

pytestmark = pytest.mark.slow
MEMBERS = ["member-0", "member-1", "member-2"]
SPECIALISTS = Path(__file__).resolve().parents[2] / "routers" / "specialists"
KINDS = {"mmlu": "multiple-choice", "cmmlu": "multiple-choice", "ceval": "multiple-choice",
         "arc-challenge": "multiple-choice", "gsm8k": "math", "math-prealgebra": "math", "humaneval": "code",
         "mbpp": "code"}  # fmt: skip
LABELS = ("mmlu/high_school_biology", "gsm8k", "humaneval", "mbpp", "alpaca-eval/helpful_base")


@pytest.fixture(scope="module")
def smollm2_url() -> Iterator[str]:
    """The bundled SmolLM2 behind the OpenAI-compatible backend server (`modelsat backend --model hf:smollm2`)."""
    from modelsat.serve.backend_server import create_backend_app
    from modelsat.serve.local import TransformersBackend

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_backend_app(TransformersBackend.load("smollm2"), "smollm2")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "SmolLM2 backend did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


def test_smollm2_profiled_live_on_four_kinds_joins_the_router(
    shared_data: Path,
    mmlu_outcomes: pd.DataFrame,
    smollm2_url: str,
    tmp_path: Path,
    cli: Callable,
    tiny_specs: dict[str, str],
) -> None:
    raw = tmp_path / "mixed.jsonl"
    mixed_table(shared_data, mmlu_outcomes).to_json(raw, orient="records", lines=True)
    assert cli("import", "table", raw, "-o", tmp_path / "mixed.parquet").code == 0
    outcomes = table.load(raw).outcomes
    ids = {label: list(dict.fromkeys(outcomes[outcomes["task"] == label]["query_id"]))[:2] for label in LABELS}
    core = tuple(CoreTask(f"{label}/00", label, tuple(ids[label])) for label in LABELS)
    aptitude = AptitudeSet(core, tuple(MEMBERS), 0)

    router_dir = tmp_path / "router"
    train = {"stage1_steps": 2, "eval_every": 2, "val_queries": 16, "batch_instructions": 4, "warmup_steps": 1,
             "bf16": "off", "selection_models": 0}  # fmt: skip
    cfg = ModelsatConfig.model_validate({"router": tiny_specs, "train": train})
    train_router(outcomes, MEMBERS, cfg, router_dir, aptitude=aptitude)

    cards, answers = tmp_path / "cards.json", tmp_path / "answers.jsonl"
    cards.write_text((router_dir / "cards.json").read_text())  # the zoo's cards; the new one joins them
    smollm2 = f"openai:{smollm2_url}#smollm2"
    run = cli("profile", "--outcomes", tmp_path / "mixed.parquet", "--router", router_dir, "-o", cards,
              "--live", smollm2, "--judge", smollm2, "--name", "smollm2-live", "--answers", answers,
              "--max-tokens", "64", "--code-timeout", "5", "--json")  # fmt: skip
    assert run.code == 0, run.stderr
    summary = json.loads(run.stdout)
    tasks = summary["tasks"]
    assert [tasks[f"{label}/00"]["kinds"] for label in LABELS] == [
        "multiple-choice", "math", "code", "code", "open-ended"]  # fmt: skip
    prompts = {"multiple-choice": 4, "math": 2, "code": 2, "open-ended": 2}  # two rotations of each MC question
    for counts in tasks.values():
        assert counts["ungradable"] == 0
        assert counts["graded"] + counts["unparsed"] + counts["timeout"] == prompts[counts["kinds"]]
    judged = tasks["alpaca-eval/helpful_base/00"]
    assert summary["judge_calls"] >= 2 * judged["graded"] and summary["judge_calls"] >= 2
    log = AnswerLog(answers, "smollm2-live").answers
    assert len(log) == 12 and all(a.status is not None for a in log.values())
    assert all(a.reply for a in log.values() if a.query_id.startswith(("routerdc/", "alpaca-eval/")))

    card = load_cards(cards)["smollm2-live"]
    assert [s.task for s in card.scores] == [t.name for t in aptitude.tasks]
    assert card.aptitude_fingerprint == aptitude.fingerprint
    service = load_router(router_dir, cards, bf16="off")  # the router accepts the live card
    ranking = service.rank("Write a Python function that reverses a string.", [*MEMBERS, "smollm2-live"])
    assert {model for model, _ in ranking} == {*MEMBERS, "smollm2-live"}
    route = cli("route", "--router", router_dir, "--cards", cards, "--models", "member-0,smollm2-live", "--json",
                "What is 17 * 3?")  # fmt: skip
    assert route.code == 0, route.stderr
    assert "smollm2-live" in route.stdout
    print(json.dumps(summary, indent=1))  # shown with -s: what SmolLM2 did on each kind


def test_smollm2_takes_the_specialists_test_live_and_the_specialists_router_routes_with_its_card(
    shared_data: Path, tmp_path: Path, cli: Callable
) -> None:
    outcomes, cards, answers = tmp_path / "specialists.parquet", tmp_path / "cards.json", tmp_path / "answers.jsonl"
    assert cli("import", "routerdc", shared_data / "routerdc", "-o", outcomes).code == 0
    cards.write_text((SPECIALISTS / "cards.json").read_text())  # the zoo's cards; the new one joins them
    run = cli("profile", "--outcomes", outcomes, "--router", SPECIALISTS, "-o", cards, "--live", "hf:smollm2",
              "--name", "smollm2-live", "--answers", answers, "--questions-limit", "2", "--max-tokens", "64",
              "--code-timeout", "5", "--json")  # fmt: skip
    assert run.code == 0, run.stderr
    summary = json.loads(run.stdout)
    aptitude = AptitudeSet.load(SPECIALISTS / "aptitude.json")
    assert list(summary["tasks"]) == [task.name for task in aptitude.tasks]
    for task in aptitude.tasks:
        counts, kind = summary["tasks"][task.name], KINDS[task.name.split("/")[0]]
        assert counts["kinds"] == kind and counts["questions"] - counts["ungradable"] == 2
        prompts = 4 if kind == "multiple-choice" else 2  # two rotations of each 4-option question
        assert counts["graded"] + counts["unparsed"] + counts["timeout"] == prompts, task.name
    log = AnswerLog(answers, "smollm2-live").answers
    assert len(log) == summary["asked"] and all(a.status is not None and a.reply for a in log.values())

    card = load_cards(cards)["smollm2-live"]
    assert card.aptitude_fingerprint == aptitude.fingerprint  # a card on the router's own test
    zoo = list(load_cards(SPECIALISTS / "cards.json"))
    service = load_router(SPECIALISTS, cards, bf16="off")  # the router accepts the live card
    ranking = service.rank("以下是关于中国历史的单项选择题：秦朝统一六国是在哪一年？", [*zoo, "smollm2-live"])
    assert {model for model, _ in ranking} == {*zoo, "smollm2-live"}
    route = cli("route", "--router", SPECIALISTS, "--cards", cards, "--models", f"{zoo[0]},smollm2-live", "--json",
                "Write a Python function that reverses a string.")  # fmt: skip
    assert route.code == 0, route.stderr
    assert {r["model"] for r in json.loads(route.stdout)["ranking"]} == {zoo[0], "smollm2-live"}
    print(json.dumps(summary, indent=1))  # shown with -s: what SmolLM2 did on RouterDC's questions
