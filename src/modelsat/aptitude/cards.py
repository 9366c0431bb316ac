"""Capability cards: a model's aptitude-test accuracies as text clauses (Model-SAT §3.1).

A card keeps one entry per core task of its aptitude set. An entry without results is *not tested* (accuracy
None, `null` in the cards file): a partial card's text lists only the tested entries and then one clause naming
what was not tested (`not tested: code, chat`), and routing reads the untested entries by the rule of
docs/router.md ("Partial cards"), never as 0 nor as the model's own average.

Example:
    cards = build_cards(outcomes, aptitude, ["mathstral-7B"])
    cards["mathstral-7B"].clauses()[0]  # 'accuracy 35% on "Groups, Rings, Fields, ..."'
    save_cards(cards, "cards.json")
"""

import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.data.kinds import kind_of
from modelsat.errors import ConfigError, DataError
from modelsat.io import atomic_write_text

CLAUSE_TEMPLATE = 'accuracy {accuracy:.0%} on "{description}"'
FACT_TEMPLATE = "{name}: {value}"
NOT_TESTED_TEMPLATE = "not tested: {entries}"


@dataclass(frozen=True)
class TaskScore:
    """Accuracy of one model on one core task; None when the model was not tested on it. `kind` is the task's kind of
    request: the aptitude test's tag, else the rule of `data/kinds.py` on the task name."""

    task: str
    description: str
    accuracy: float | None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", kind_of(self.task))

    @property
    def tested(self) -> bool:
        """Whether the model has results on this task."""
        return self.accuracy is not None


@dataclass
class Card:
    """A model's capability card: per-task accuracies on an aptitude set plus optional expert facts."""

    model: str
    aptitude_fingerprint: str
    scores: list[TaskScore]
    facts: dict[str, Any] = field(default_factory=dict)
    template: str = CLAUSE_TEMPLATE

    @property
    def mean_accuracy(self) -> float:
        """Mean accuracy over the tested core tasks."""
        tested = [s.accuracy for s in self.scores if s.accuracy is not None]
        return sum(tested) / len(tested)

    @property
    def is_partial(self) -> bool:
        """Whether some core task was not tested."""
        return any(not s.tested for s in self.scores)

    @property
    def n_slots(self) -> int:
        """Entries the accuracy readout weighs: one per core task, tested or not, then one per fact."""
        return len(self.scores) + len(self.facts)

    def untested_entries(self) -> list[str]:
        """What the card was not tested on: a kind of request (`data/kinds.py`) when none of the card's tasks of
        that kind was tested, else the untested task's description in quotes."""
        kinds = [s.kind for s in self.scores]
        tested_kinds = {k for k, s in zip(kinds, self.scores, strict=True) if s.tested}
        missing_kinds = {k for k in kinds if k is not None} - tested_kinds
        entries: list[str] = []
        for kind, score in zip(kinds, self.scores, strict=True):
            entry = kind if kind in missing_kinds else f'"{score.description}"'
            if not score.tested and entry not in entries:
                entries.append(entry)
        return entries

    def clauses(self, template: str | None = None) -> list[str]:
        """One text clause per tested core task (aptitude order), one naming the untested entries (partial cards
        only), then one per expert fact.

        `template` overrides the card's own (set by `modelsat profile --template`).
        """
        template = self.template if template is None else template
        task_clauses = [
            template.format(accuracy=s.accuracy, description=s.description, task=s.task)
            for s in self.scores
            if s.tested
        ]
        if self.is_partial:
            task_clauses.append(NOT_TESTED_TEMPLATE.format(entries=", ".join(self.untested_entries())))
        fact_clauses = [FACT_TEMPLATE.format(name=k, value=v) for k, v in self.facts.items()]
        return task_clauses + fact_clauses

    def render(self, order_seed: int | None = None, template: str | None = None) -> str:
        """The card as one text; `order_seed` shuffles the clause order (the router's perturbation)."""
        parts = self.clauses(template)
        if order_seed is not None:
            random.Random(order_seed).shuffle(parts)
        return "The model achieves " + "; ".join(parts) + "."


def check_template(template: str) -> str:
    """Return `template` if it formats with {accuracy}, {description} and {task}, else raise ConfigError."""
    try:
        template.format(accuracy=0.5, description="Keywords", task="mmlu/x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"--template {template!r} is not a clause template ({type(exc).__name__}: {exc}); "
            f"use the fields {{accuracy}}, {{description}}, {{task}}, e.g. {CLAUSE_TEMPLATE!r}"
        ) from exc
    return template


def build_cards(
    outcomes: pd.DataFrame,
    aptitude: AptitudeSet,
    models: Iterable[str],
    facts: Mapping[str, Mapping[str, Any]] | None = None,
    min_coverage: float = 0.5,
    template: str = CLAUSE_TEMPLATE,
    partial: bool = False,
) -> dict[str, Card]:
    """Cards for `models` from their outcomes on the aptitude questions.

    A task's accuracy is taken over the questions the model answered (some result files lack a few
    items); below `min_coverage` of a task's questions the card would be guesswork, so it fails, or with
    `partial` the task is not tested on that card. A task with no answer at all is never tested.

    Raises:
        DataError: when a model answered too few aptitude questions (names model, task and count), or, with
            `partial`, none of them.
    """
    wanted = list(models)
    ids = aptitude.query_ids
    rows = outcomes[outcomes["model"].isin(wanted) & outcomes["query_id"].isin(ids)]
    score = rows.set_index(["model", "query_id"])["score"]
    cards = {}
    for model in wanted:
        answered = score.loc[model] if model in score.index.get_level_values(0) else pd.Series(dtype=float)
        scores = []
        for task in aptitude.tasks:
            got = answered.reindex(list(task.query_ids)).dropna()
            enough = len(got) >= min_coverage * len(task.query_ids)
            if not enough and not partial:
                raise DataError(
                    f"model {model!r} answered {len(got)} of the {len(task.query_ids)} aptitude questions of "
                    f"{task.name}; profile it first (modelsat profile --live ...), import its results, or give it a "
                    "partial card that says what it was not tested on (modelsat profile --partial)"
                )
            accuracy = float(got.mean()) if enough and len(got) else None
            scores.append(TaskScore(task.name, task.description, accuracy, task.kind))
        if not any(s.tested for s in scores):
            raise DataError(f"model {model!r} has results on none of the aptitude test's tasks; profile it first")
        cards[model] = Card(model, aptitude.fingerprint, scores, dict((facts or {}).get(model, {})), template)
    return cards


def save_cards(cards: Mapping[str, Card], path: str | Path) -> None:
    """Write cards atomically as JSON: {"cards": {model: card}}."""
    payload = {"cards": {name: asdict(card) for name, card in cards.items()}}
    atomic_write_text(Path(path), json.dumps(payload, indent=1))


def load_cards(path: str | Path) -> dict[str, Card]:
    """Read cards written by `save_cards`, with errors that name the file and field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no cards file (make one with `modelsat profile`)") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    cards = {}
    for name, item in (raw.get("cards") or {}).items() if isinstance(raw, dict) else []:
        try:
            scores = [
                TaskScore(s["task"], s["description"], read_accuracy(s["accuracy"]), s.get("kind"))
                for s in item["scores"]
            ]
            template = str(item.get("template") or CLAUSE_TEMPLATE)
            cards[name] = Card(name, item["aptitude_fingerprint"], scores, dict(item.get("facts") or {}), template)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: card {name!r} is malformed (field {exc})") from exc
    if not cards:
        raise DataError(f"{path}: holds no cards")
    return cards


def read_accuracy(value: Any) -> float | None:
    """A cards file's accuracy: null (or NaN, as cards of a partial live test were once written) is not tested."""
    if value is None:
        return None
    accuracy = float(value)
    return None if math.isnan(accuracy) else accuracy


def check_fingerprints(cards: Mapping[str, Card], aptitude: AptitudeSet) -> None:
    """Raise DataError when any card was made on another aptitude set than `aptitude`."""
    stale = sorted(name for name, card in cards.items() if card.aptitude_fingerprint != aptitude.fingerprint)
    if stale:
        raise DataError(
            f"card(s) of {', '.join(stale)} were made on another aptitude set than {aptitude.fingerprint}; "
            "re-run `modelsat profile` with this aptitude set"
        )


def merge_cards(new: Mapping[str, Card], path: str | Path) -> dict[str, Card]:
    """Add `new` to the cards in `path` (replacing same-named ones) and write atomically.

    Raises:
        DataError: when `path` holds cards of another aptitude set (they could not be compared).
    """
    path = Path(path)
    existing = load_cards(path) if path.exists() else {}
    fingerprints = {card.aptitude_fingerprint for card in new.values()}
    stale = sorted(name for name, card in existing.items() if card.aptitude_fingerprint not in fingerprints)
    if stale:
        raise DataError(
            f"{path}: card(s) of {', '.join(stale)} come from another aptitude set than the new card(s) "
            f"({', '.join(sorted(fingerprints))}); write to another file or re-profile them"
        )
    merged = existing | dict(new)
    save_cards(merged, path)
    return merged
