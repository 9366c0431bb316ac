"""A trained router's aptitude test grows: new core tasks join it without retraining (`modelsat aptitude extend`).

A new model joins a router by its card; a new kind of request joins by core tasks. The router reads a card's
entries through its readout, which places a request among the tasks by their prototypes (the mean encoder embedding
of each task's questions, `prototypes.py`) and never by a learned per-task weight, so a task it was not trained with
is read as one it was: its prototype is computed from its questions, and every card gets its entry (the model's
accuracy there, or *not tested*). The test must contain the router's own tasks unchanged (names and questions); the
tasks it adds come after training, as `modelsat train --zoos` leaves out the tasks of zoos it does not train on.

What is written, each file atomically: the grown `aptitude.json`, the prototypes of its tasks (the stored ones
kept), the router's cards profiled again on the grown test from the outcomes table (partial cards: each model's
entries where it has results; the models with results on the added tasks get a card too) and the meta header's
aptitude fingerprint, with the added tasks listed under `extended_tasks`. Weights, readout and calibrations are
kept: a calibration's task levels give an added task none.

Example:
    grown = extend_router(Path("routers/default"), AptitudeSet.load(UNIFIED_PATH), read_outcomes("out/all.parquet"))
    grown.added  # ('routerbench/mbpp', 'routerbench/arc-challenge/00', ...)
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import CLAUSE_TEMPLATE, build_cards, load_cards, save_cards
from modelsat.errors import RouterError
from modelsat.io import atomic_write_text
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.prototypes import PROTOTYPES_FILE, aptitude_prototypes, save_prototypes


@dataclass(frozen=True)
class Extension:
    """What `extend_router` did: the tasks added, the cards written and the models that got their first card."""

    added: tuple[str, ...]
    cards: int
    new_models: tuple[str, ...]
    fingerprint: str


def check_grows(trained: AptitudeSet, grown: AptitudeSet, where: Path) -> tuple[str, ...]:
    """The names of the tasks `grown` adds to `trained`.

    Raises:
        RouterError: when `grown` lacks one of `trained`'s tasks or asks it other questions (naming the task).
    """
    by_name = {task.name: task for task in grown.tasks}
    for task in trained.tasks:
        other = by_name.get(task.name)
        if other is None or other.query_ids != task.query_ids:
            change = "lacks" if other is None else "asks other questions in"
            raise RouterError(
                f"{where}: the new aptitude test {change} the router's core task {task.name!r}; a test can only "
                "grow by new core tasks (retrain the router on a test that changes its tasks)"
            )
    trained_names = {task.name for task in trained.tasks}
    return tuple(task.name for task in grown.tasks if task.name not in trained_names)


def extend_router(router_dir: Path, grown: AptitudeSet, outcomes: pd.DataFrame) -> Extension:
    """Grow the router in `router_dir` to the aptitude test `grown` (a superset of its own), in place.

    Raises:
        RouterError: a test that drops or changes one of the router's tasks, or a router that cannot be read.
        DataError: an outcomes table without the added tasks' questions.
    """
    from modelsat.router.routing.service import load_router

    router_dir = Path(router_dir)
    folder = RouterFolder.read(router_dir)
    added = check_grows(folder.aptitude, grown, router_dir / "aptitude.json")
    if folder.prototypes is not None:  # a router whose readout or calibration is keyed by task prototypes
        missing = AptitudeSet(tuple(t for t in grown.tasks if t.name not in folder.prototypes), grown.zoo, grown.seed)
        computed = {}
        if missing.tasks:
            service = load_router(folder, calibrated=False)
            computed = aptitude_prototypes(service.scorer.embed_texts, missing, outcomes, service.reader)
        prototypes = {t.name: folder.prototypes.get(t.name, computed.get(t.name)) for t in grown.tasks}
        save_prototypes(prototypes, router_dir / PROTOTYPES_FILE)
    # the test before the cards: a run stopped in between is re-run from the grown test (nothing left to embed)
    grown.save(router_dir / "aptitude.json")
    raw = yaml.safe_load((router_dir / "config.yaml").read_text())
    raw["meta"]["aptitude_fingerprint"] = grown.fingerprint
    extended = raw["meta"]["extended_tasks"] = list(dict.fromkeys([*raw["meta"].get("extended_tasks", []), *added]))
    atomic_write_text(router_dir / "config.yaml", yaml.safe_dump(raw, sort_keys=False))
    old_cards = load_cards(router_dir / "cards.json")
    added_ids = {q for t in grown.tasks if t.name in extended for q in t.query_ids}  # a re-run's too
    answering = outcomes.loc[outcomes["query_id"].isin(added_ids), "model"].unique()
    models = list(dict.fromkeys([*old_cards, *sorted(answering)]))
    template = next(iter(old_cards.values())).template if old_cards else CLAUSE_TEMPLATE
    facts = {model: card.facts for model, card in old_cards.items()}
    cards = build_cards(outcomes, grown, models, facts=facts, template=template, partial=True)
    save_cards(cards, router_dir / "cards.json")
    return Extension(added, len(cards), tuple(m for m in models if m not in old_cards), grown.fingerprint)
