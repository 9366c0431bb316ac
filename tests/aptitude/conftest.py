"""Aptitude fixtures: the aptitude set on the `small` zoo, outcomes files, and a loopback OpenAI-style server."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import uvicorn
from openai_double import FakeOpenAI, make_app

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.live.questions import LETTERS
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.schema import write_outcomes
from modelsat.data.zoos import SMALL


@pytest.fixture(scope="session")
def aptitude(mmlu_outcomes: pd.DataFrame) -> AptitudeSet:
    """The default aptitude test: 50 × 20 questions selected on the `small` zoo."""
    return select_aptitude_set(mmlu_outcomes, list(SMALL))


@pytest.fixture(scope="session")
def outcomes_file(mmlu_outcomes: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full 25-model outcomes table as a Parquet file."""
    path = tmp_path_factory.mktemp("outcomes") / "outcomes.parquet"
    write_outcomes(mmlu_outcomes, path)
    return path


@pytest.fixture(scope="session")
def aptitude_rows_file(
    mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Only the aptitude questions (all models): enough for live runs, quick for CLI subprocesses to read."""
    path = tmp_path_factory.mktemp("aptitude-rows") / "outcomes.parquet"
    write_outcomes(mmlu_outcomes[mmlu_outcomes["query_id"].isin(aptitude.query_ids)], path)
    return path


@pytest.fixture(scope="session")
def aptitude_file(aptitude: AptitudeSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default aptitude set saved as JSON."""
    path = tmp_path_factory.mktemp("aptitude") / "aptitude.json"
    aptitude.save(path)
    return path


@pytest.fixture(scope="session")
def correct_options(mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet) -> dict[str, str]:
    """Question text -> text of its right option, for the aptitude questions (what an oracle model knows)."""
    rows = mmlu_outcomes[mmlu_outcomes["query_id"].isin(aptitude.query_ids)].drop_duplicates("query_id")
    return {str(r.prompt).strip(): json.loads(r.options)[LETTERS.index(r.answer)] for r in rows.itertuples(index=False)}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A real HTTP server on 127.0.0.1 (uvicorn in a thread) speaking the chat-completion API."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = FakeOpenAI(url=f"http://127.0.0.1:{port}/v1")
    server = uvicorn.Server(uvicorn.Config(make_app(state), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "fake OpenAI server did not start"
        time.sleep(0.02)
    yield state
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def specialists_outcomes(shared_data: Path) -> pd.DataFrame:
    """RouterDC's 7 models on every file of the paper's protocol (`modelsat import routerdc`, about 2 s)."""
    from modelsat.data.importers import routerdc

    return routerdc.load(shared_data / "routerdc").outcomes
