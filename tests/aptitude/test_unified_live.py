"""End to end: the bundled SmolLM2 takes one question of every core task of the unified aptitude test live
(SmolLM2 also standing in as the judge of the chat questions) and gets a card on that test, which `routers/default`
accepts and routes. One rotation and 16-token replies keep it to about two minutes of CPU;
`test_live_end_to_end.py` covers the circle test."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards, save_cards
from modelsat.aptitude.unified import UNIFIED_PATH
from modelsat.data.kinds import KINDS
from modelsat.data.schema import read_outcomes
from modelsat.router.routing.service import load_router

pytestmark = pytest.mark.slow
ROUTER = Path(__file__).resolve().parents[2] / "routers" / "default"
GRADER_OF_KIND = {"knowledge": "multiple-choice", "chinese": "multiple-choice", "reasoning": "multiple-choice",
                  "math": "math", "code": "code", "chat": "open-ended"}  # fmt: skip


def test_smollm2_takes_a_slice_of_every_kind_live_and_gets_a_card(all_outcomes_file: Path, tmp_path: Path) -> None:
    cards, answers, live = tmp_path / "cards.json", tmp_path / "answers.jsonl", tmp_path / "live.parquet"
    # its own process, as a user runs it: the live run's model threads and sandboxes stay out of the test session
    run = subprocess.run(
        [sys.executable, "-m", "modelsat.cli.main", "profile", "--outcomes", str(all_outcomes_file), "--aptitude",
         "unified", "-o", str(cards), "--live", "hf:smollm2", "--judge", "hf:smollm2", "--name", "smollm2-live",
         "--answers", str(answers), "--outcomes-out", str(live), "--questions-limit", "1", "--rotations", "1",
         "--max-tokens", "16", "--code-timeout", "5", "--json"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    unified = AptitudeSet.load(UNIFIED_PATH)
    assert list(summary["tasks"]) == [task.name for task in unified.tasks]
    for task in unified.tasks:
        counts, grader = summary["tasks"][task.name], GRADER_OF_KIND[task.kind]
        assert counts["kinds"] == grader and counts["questions"] == 1 and counts["ungradable"] == 0, task.name
        assert counts["graded"] + counts["unparsed"] + counts["timeout"] == 1, task.name  # one prompt, no circle
    assert summary["judge_calls"] >= 2 * 6  # each chat answer judged both ways round (retried when unparsed)

    card = load_cards(cards)["smollm2-live"]
    assert card.aptitude_fingerprint == unified.fingerprint  # a card on the whole unified test
    assert [s.task for s in card.scores] == [t.name for t in unified.tasks]
    rows = read_outcomes(live)
    kinds = pd.Series({t.name: t.kind for t in unified.tasks})
    asked = {q: t.kind for t in unified.tasks for q in t.query_ids if q in set(rows["query_id"])}
    assert len(rows) == len(asked) == len(unified.tasks) and set(asked.values()) == set(KINDS) == set(kinds)
    print(json.dumps({k: v for k, v in summary.items() if k != "tasks"}, indent=1))

    # the card is accepted by the one router, whose test this is, and routed beside that router's own cards
    shipped = load_cards(ROUTER / "cards.json")
    team = {"smollm2-live": card, **{m: shipped[m] for m in ("gemini-1.5-pro-002", "MetaMath-Mistral-7B")}}
    save_cards(team, tmp_path / "team.json")
    service = load_router(ROUTER, tmp_path / "team.json", mode="fast")
    ranking = service.rank("Natalia sold clips to 48 of her friends in April, and then she sold half as many in May.")
    assert sorted(m for m, _ in ranking) == sorted(team) and all(0 < p < 1 for _, p in ranking)
