"""`benchmarks/every_zoo.py`: the figures a router is judged by on every zoo, and the zoos it cannot route."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelsat.aptitude.cards import load_cards
from modelsat.data.zoos import SPECIALISTS
from modelsat.errors import RouterError

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("every_zoo", ROOT / "benchmarks" / "every_zoo.py")
every_zoo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(every_zoo)


def makefile_list(name: str) -> tuple[str, ...]:
    """A comma-separated model list of the Makefile (`NAME := a,b,$\\` continued lines)."""
    text = (ROOT / "Makefile").read_text().replace("$\\\n", "")
    value = re.search(rf"^{name} := (.+)$", text, re.MULTILINE).group(1)
    return tuple(m.strip() for m in value.split(","))


def run_of(name: str):
    return next(run for run in every_zoo.RUNS if run.name.startswith(name))


def test_the_new_models_are_the_makefiles() -> None:
    assert every_zoo.FOLD_C == makefile_list("FOLD_C") == run_of("(c)").holdout
    assert every_zoo.CHAT_NEW == makefile_list("CHAT_NEW") == run_of("chat").holdout
    assert ("Phi-3-mini-4k-instruct", *run_of("(b)").holdout) == makefile_list("FOLD_AB")
    documented = {f.label: f.documented for run in every_zoo.RUNS for f in run.figures}
    assert len(documented) == 8 and documented["RouterBench AIQ"] == 83.55


def test_a_router_without_a_zoos_cards_is_refused_naming_them() -> None:
    specialists = run_of("specialists")
    mmlu_router = every_zoo.contender(ROOT / "routers" / "small-12", None, None)
    assert mmlu_router.mode == "full"  # its own default: it has no accuracy readout
    # an MMLU-Pro router has cards for the two models named alike in both zoos, not for the other five
    missing = [m for m in SPECIALISTS if m not in ("Meta-Llama-3-8B", "Mistral-7B-v0.1")]
    with pytest.raises(RouterError) as refused:
        every_zoo.check_cards(mmlu_router, specialists, SPECIALISTS)
    message = str(refused.value)
    assert (
        "cannot route zoo 'specialists'" in message
        and f"no card for 5 of its 7 model(s): {', '.join(missing)}" in message
    )
    every_zoo.check_cards(every_zoo.contender(specialists.dedicated, None, None), specialists, SPECIALISTS)
    one = every_zoo.contender(ROOT / "routers" / "default", None, None)
    assert one.mode == "fast"
    every_zoo.check_cards(one, specialists, SPECIALISTS)  # the one router has a card for every specialist
    routerbench = tuple(load_cards(ROOT / "routers" / "routerbench" / "cards.json"))  # its 11 priced models
    every_zoo.check_cards(one, run_of("routerbench"), routerbench)  # extended to RouterBench's tasks and models


def test_the_harness_stops_before_any_work_for_a_zoo_it_cannot_route(all_outcomes_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    script = ROOT / "benchmarks" / "every_zoo.py"
    # routers/fold-c was not extended to RouterBench's tasks (routers/default was, and has its models' cards)
    args = ["--router", ROOT / "routers" / "fold-c", "--zoos", "chat,routerbench", "--outcomes", all_outcomes_file]
    done = subprocess.run([sys.executable, script, *map(str, args), "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 1 and not out.exists()
    assert "Error: " in done.stderr and "cannot route zoo 'routerbench' (routerbench AIQ)" in done.stderr
    assert "no card for 11 of its 11 model(s): " in done.stderr and "gpt-4-1106-preview" in done.stderr
