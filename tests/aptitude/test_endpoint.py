"""Live profiling against a real HTTP server on loopback speaking the OpenAI chat-completion API."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from openai_double import FakeOpenAI, oracle_reply

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards
from modelsat.aptitude.live.answer_log import AnswerLog
from modelsat.aptitude.live.endpoint import EndpointClient
from modelsat.aptitude.live.runner import LiveResult, profile_live
from modelsat.data.schema import read_outcomes
from modelsat.errors import BackendError

N_QUESTIONS = 40  # first 2 core tasks; 80 prompts with 2 rotations


@pytest.fixture(scope="module")
def two_tasks(aptitude: AptitudeSet) -> AptitudeSet:
    """The first two core tasks of the aptitude set."""
    return aptitude.first_tasks(2)


def run(
    server: FakeOpenAI, outcomes: pd.DataFrame, aptitude: AptitudeSet, log_path: Path, **client: object
) -> LiveResult:
    """Profile the fake endpoint as model 'fake' with 2 rotations."""
    options = {"api_key": server.key, "concurrency": 4, "timeout": 0.5, "max_retries": 3, "backoff": 0.01} | client
    answerer = EndpointClient(server.url, "fake", **options)
    return profile_live(answerer, outcomes, aptitude, AnswerLog(log_path, "fake"), "fake", progress=False)


def test_oracle_endpoint_passes_every_question(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, correct_options: dict, tmp_path: Path
) -> None:
    fake_openai.reply = oracle_reply(correct_options)
    result = run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl")
    assert fake_openai.requests == 2 * N_QUESTIONS and result.asked == 2 * N_QUESTIONS
    assert result.accuracy_plain == result.accuracy_circle == 1.0 and result.malformed == 0
    assert len(result.outcomes) == N_QUESTIONS and set(result.outcomes["model"]) == {"fake"}
    assert (result.outcomes["score"] == 1.0).all()
    assert [s.accuracy for s in result.card.scores] == [1.0, 1.0]
    assert result.card.aptitude_fingerprint == two_tasks.fingerprint


def test_circle_test_catches_a_model_that_always_answers_a(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, tmp_path: Path
) -> None:
    fake_openai.reply = lambda prompt: "A"
    result = run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl")
    rows = mmlu_outcomes[mmlu_outcomes["query_id"].isin(two_tasks.query_ids)].drop_duplicates("query_id")
    assert result.accuracy_plain == pytest.approx((rows["answer"] == "A").mean())
    assert result.accuracy_plain > 0
    assert result.accuracy_circle == 0.0


def test_timeouts_and_server_errors_are_retried(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, correct_options: dict, tmp_path: Path
) -> None:
    fake_openai.reply = oracle_reply(correct_options)
    fake_openai.faults = ["timeout", "500", "500"]
    result = run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl")
    assert fake_openai.requests == 2 * N_QUESTIONS + 3
    assert result.accuracy_circle == 1.0 and result.malformed == 0


def test_malformed_replies_are_counted_as_wrong(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, correct_options: dict, tmp_path: Path
) -> None:
    fake_openai.reply = oracle_reply(correct_options)
    fake_openai.faults = ["garbage", "no-letter"]
    result = run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl", concurrency=1)
    assert fake_openai.requests == 2 * N_QUESTIONS and result.malformed == 2
    # concurrency 1: the first two prompts are the two rotations of the first question
    assert result.accuracy_circle == (N_QUESTIONS - 1) / N_QUESTIONS
    logged = AnswerLog(tmp_path / "a.jsonl", "fake").answers.values()
    assert sorted(str(a.reply) for a in logged if a.malformed) == ["I cannot tell.", "None"]  # no letter, garbage


def test_refused_key_stops_with_a_clear_error(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, tmp_path: Path
) -> None:
    with pytest.raises(BackendError, match=r"refused the API key \(HTTP 401\).*--api-key-env"):
        run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl", api_key="wrong")
    assert not AnswerLog(tmp_path / "a.jsonl", "fake").done


def test_retries_run_out_with_a_resume_hint(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, tmp_path: Path
) -> None:
    fake_openai.faults = ["500"] * 3
    with pytest.raises(BackendError, match=r"after 3 attempts \(last: HTTP 500\).*re-run to resume"):
        run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl", concurrency=1, max_retries=2)
    assert fake_openai.requests == 3


def test_aborted_run_resumes_without_asking_again(
    fake_openai: FakeOpenAI, mmlu_outcomes: pd.DataFrame, two_tasks: AptitudeSet, correct_options: dict, tmp_path: Path
) -> None:
    fake_openai.reply = oracle_reply(correct_options)
    fake_openai.refuse_after = 30
    with pytest.raises(BackendError):
        run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl")
    first = AnswerLog(tmp_path / "a.jsonl", "fake").done
    assert 0 < len(first) < 2 * N_QUESTIONS
    fake_openai.refuse_after, fake_openai.key, fake_openai.requests = None, "second-key", 0
    result = run(fake_openai, mmlu_outcomes, two_tasks, tmp_path / "a.jsonl")
    assert fake_openai.requests == result.asked == 2 * N_QUESTIONS - len(first)
    assert result.accuracy_circle == 1.0
    assert len(AnswerLog(tmp_path / "a.jsonl", "fake").done) == 2 * N_QUESTIONS


def cli(*args: str | Path) -> list[str]:
    """A `modelsat` command line run as a subprocess."""
    return [sys.executable, "-m", "modelsat.cli.main", *map(str, args)]


def test_killed_cli_run_resumes_and_the_model_joins_the_zoo(
    fake_openai: FakeOpenAI,
    aptitude_rows_file: Path,
    aptitude_file: Path,
    correct_options: dict,
    two_tasks: AptitudeSet,
    tmp_path: Path,
) -> None:
    fake_openai.reply = oracle_reply(correct_options)
    fake_openai.delay = 0.05
    answers, cards, table = tmp_path / "answers.jsonl", tmp_path / "cards.json", tmp_path / "new.parquet"
    command = cli(
        "profile", "--outcomes", aptitude_rows_file, "--aptitude", aptitude_file, "-o", cards,
        "--live", f"openai:{fake_openai.url}#fake-7b", "--name", "fake-7b", "--tasks-limit", "2",
        "--answers", answers, "--outcomes-out", table, "--concurrency", "1", "--api-key-env", "FAKE_KEY", "--json",
    )  # fmt: skip
    env = os.environ | {"FAKE_KEY": fake_openai.key}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (answers.exists() and answers.read_text().count("\n") >= 10):
        assert time.monotonic() < deadline and proc.poll() is None, "live run did not start answering"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    done = len(AnswerLog(answers, "fake-7b").done)
    assert 10 <= done < 2 * N_QUESTIONS and not cards.exists()
    fake_openai.key, fake_openai.requests = "second-key", 0  # a request of the killed run is refused, not counted
    env["FAKE_KEY"] = fake_openai.key
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert fake_openai.requests == summary["asked"] == 2 * N_QUESTIONS - done
    assert summary["accuracy_circle"] == 1.0 and summary["questions"] == N_QUESTIONS
    assert load_cards(cards)["fake-7b"].aptitude_fingerprint == two_tasks.fingerprint
    joined = read_outcomes(table)
    assert len(joined) == N_QUESTIONS and set(joined["model"]) == {"fake-7b"} and (joined["score"] == 1).all()

    refused = subprocess.run(command, env=env | {"FAKE_KEY": "bad"}, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 0  # nothing left to ask: the key is never used
    answers.unlink()
    refused = subprocess.run(command, env=env | {"FAKE_KEY": "bad"}, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("Error: http://127.0.0.1")
    assert "refused the API key (HTTP 401)" in refused.stderr
