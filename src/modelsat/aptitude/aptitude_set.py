"""The aptitude test as data: core tasks and their question ids, and how a task picks its questions.

`selection.py` chooses MMLU subjects as core tasks and `clustering.py` makes core tasks from clusters of
the zoo's own queries; both build an `AptitudeSet` from the pieces here.

Example:
    aptitude = AptitudeSet.load("routers/default/aptitude.json")
    aptitude.fingerprint  # cards carry it, so a card from another test is refused
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelsat.errors import ConfigError, DataError
from modelsat.io import atomic_write_text

FORMAT_VERSION = 1
Sampling = Literal["representative", "discriminative"]
SAMPLINGS = ("representative", "discriminative")


@dataclass(frozen=True)
class CoreTask:
    """One aptitude task: its outcomes `task` name, card description, question ids and kind of request (if known)."""

    name: str
    description: str
    query_ids: tuple[str, ...]
    kind: str | None = None


@dataclass(frozen=True)
class AptitudeSet:
    """The aptitude test: core tasks plus the zoo and seed they were selected on."""

    tasks: tuple[CoreTask, ...]
    zoo: tuple[str, ...]
    seed: int

    @property
    def query_ids(self) -> frozenset[str]:
        """Every aptitude question id (excluded from routing splits)."""
        return frozenset(q for t in self.tasks for q in t.query_ids)

    @property
    def fingerprint(self) -> str:
        """Short hash of tasks and question ids; cards carry it so mismatches are caught."""
        text = json.dumps([[t.name, list(t.query_ids)] for t in self.tasks])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def first_tasks(self, n: int | None) -> "AptitudeSet":
        """The set cut to its first `n` core tasks (all when `n` is None), e.g. for a quick live profile."""
        return self if n is None else AptitudeSet(tasks=self.tasks[:n], zoo=self.zoo, seed=self.seed)

    def of_kinds(self, kinds: tuple[str, ...]) -> "AptitudeSet":
        """The set cut to the core tasks of `kinds` (its own fingerprint, like `first_tasks`).

        Raises:
            ConfigError: when the set tags no task with a kind, or a kind has no core task here (naming those it has).
        """
        present = list(dict.fromkeys(t.kind for t in self.tasks if t.kind))
        if not present:
            raise ConfigError(
                "--kinds: this aptitude set tags no core task with a kind (build one with `aptitude unified`)"
            )
        missing = [k for k in kinds if k not in present]
        if missing:
            raise ConfigError(
                f"--kinds: no core task of kind {', '.join(missing)} here; this set has {', '.join(present)}"
            )
        return AptitudeSet(tasks=tuple(t for t in self.tasks if t.kind in kinds), zoo=self.zoo, seed=self.seed)

    def of_zoos(self, zoos: Sequence[str]) -> "AptitudeSet":
        """The set cut to the core tasks asked by one of `zoos` (a question's zoo: its query id's first path component,
        as `modelsat import all` names them); the tasks keep their order, so cutting a test that grew by other zoos'
        tasks gives back the test it grew from, fingerprint included."""
        return AptitudeSet(
            tasks=tuple(t for t in self.tasks if any(q.split("/", 1)[0] in zoos for q in t.query_ids)),
            zoo=self.zoo,
            seed=self.seed,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (task names, descriptions, query ids; never question texts)."""
        return {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "zoo": list(self.zoo),
            "seed": self.seed,
            "tasks": [_task_dict(t) for t in self.tasks],
        }

    def save(self, path: str | Path) -> None:
        """Write atomically as JSON."""
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "AptitudeSet":
        """Read an aptitude set written by `save`."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
            tasks = tuple(
                CoreTask(t["name"], t["description"], tuple(t["query_ids"]), t.get("kind")) for t in raw["tasks"]
            )
            return cls(tasks=tasks, zoo=tuple(raw["zoo"]), seed=int(raw["seed"]))
        except FileNotFoundError as exc:
            raise DataError(f"{path}: no aptitude set file") from exc
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: not an aptitude set ({type(exc).__name__}: {exc})") from exc


def _task_dict(task: CoreTask) -> dict[str, Any]:
    """A core task as JSON (its `kind` only when it has one, so untagged sets are saved as before)."""
    out = asdict(task) | {"query_ids": list(task.query_ids)}
    if task.kind is None:
        del out["kind"]
    return out


def question_weights(outcomes: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Per question answered by every model of `models`: task, p (zoo accuracy) and weight p(1−p)."""
    rows = outcomes[outcomes["model"].isin(models)]
    per_query = rows.groupby("query_id").agg(task=("task", "first"), p=("score", "mean"), n=("model", "nunique"))
    per_query = per_query[per_query["n"] == len(models)]
    per_query["weight"] = per_query["p"] * (1 - per_query["p"])
    return per_query


def pick_questions(weights: pd.DataFrame, n: int, sampling: Sampling, rng: np.random.Generator) -> pd.DataFrame:
    """The `n` rows of `weights` (`question_weights` of one task) a core task keeps, by `sampling`.

    "representative": questions with weight > 0 in a seeded random order (then the rest, when too
    few discriminate); "discriminative": heaviest first, ties broken by the seeded order.
    """
    if sampling not in SAMPLINGS:
        raise ConfigError(f"unknown aptitude sampling {sampling!r}; choose one of {', '.join(SAMPLINGS)}")
    ranked = weights.assign(_key=-weights["weight"], _tiebreak=rng.random(len(weights)))
    if sampling == "representative":
        ranked["_key"] = (ranked["weight"] <= 0).astype(float)
    return ranked.sort_values(["_key", "_tiebreak"]).head(n).drop(columns=["_key", "_tiebreak"])
