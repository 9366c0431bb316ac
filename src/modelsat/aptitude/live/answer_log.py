"""Resumable answer log: one JSON line per (question, option shift), flushed as each answer arrives.

A killed run loses at most the answer being written; a re-run reads the log and asks only the
(question, shift) pairs not in it. A torn last line (kill mid-write) is skipped and counted. An
answer whose grading is slow (code runs, judge calls) is logged first ungraded (`status` None) and
again once graded; the later line wins, so a re-run grades what is still ungraded without asking
the model again. Logs of earlier versions (`letter`, `correct`, `malformed`) still read.

Example:
    log = AnswerLog("answers.jsonl", model="smollm2")
    if ("mmlu-pro/8659", 0) not in log.done:
        log.append(Answer("mmlu-pro/8659", 0, reply="B", seconds=0.4, status="graded", score=1.0, parsed="B"))
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from modelsat.errors import DataError


@dataclass(frozen=True)
class Answer:
    """A model's reply to one question under one option shift, and its grade (status None: not graded yet)."""

    query_id: str
    shift: int
    reply: str | None
    seconds: float
    status: str | None = None  # graded, unparsed, timeout (graders/base.py)
    score: float | None = None
    parsed: str | None = None  # what the grader read: letter, number, run outcome, judge's picks
    detail: str = ""  # run output tail or the judge's raw replies
    judge_calls: int = 0

    @property
    def correct(self) -> bool:
        """Fully right (score 1)."""
        return self.score == 1.0

    @property
    def malformed(self) -> bool:
        """The grader could not read the reply."""
        return self.status == "unparsed"


def _from_json(raw: dict) -> Answer:
    """An `Answer` from a log line, this version's or the letter-only one's."""
    if "letter" in raw and "reply" not in raw:
        status = "unparsed" if raw["malformed"] else "graded"
        return Answer(
            raw["query_id"], raw["shift"], raw["letter"], raw["seconds"], status, float(raw["correct"]), raw["letter"]
        )
    fields = Answer.__dataclass_fields__
    return Answer(**{k: raw[k] for k in fields if k in raw})


class AnswerLog:
    """Append-only JSONL log of one model's answers; `done` holds the answered (query_id, shift) pairs."""

    def __init__(self, path: str | Path, model: str) -> None:
        self.path = Path(path)
        self.model = model
        self.answers: dict[tuple[str, int], Answer] = {}
        self.torn_lines = 0
        if self.path.exists():
            self._read()
        self._handle: IO[str] | None = None

    def _read(self) -> None:
        """Load earlier answers, checking they are this model's."""
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                raw = json.loads(line)
                answer = _from_json(raw)
                model = raw["model"]
            except (json.JSONDecodeError, KeyError, TypeError):
                self.torn_lines += 1
                continue
            if model != self.model:
                raise DataError(
                    f"{self.path}: line {number} holds answers of model {model!r}, not {self.model!r}; "
                    "give each model its own --answers file"
                )
            self.answers[(answer.query_id, answer.shift)] = answer

    @property
    def done(self) -> set[tuple[str, int]]:
        """(query_id, shift) pairs already answered."""
        return set(self.answers)

    def append(self, answer: Answer) -> None:
        """Record `answer` and flush it to disk before returning."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn_end = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
            self._handle = self.path.open("a")
            if torn_end:  # start on a fresh line after a half-written one
                self._handle.write("\n")
        self._handle.write(json.dumps({"model": self.model} | asdict(answer)) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.answers[(answer.query_id, answer.shift)] = answer

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
