"""Task prototypes: where each core task sits in the encoder's space (`router.readout_keys: prototypes`).

A prototype is the normalised mean encoder embedding of a core task's aptitude questions. The accuracy
readout weighs a card's accuracies by the instruction's similarity to these prototypes instead of to the
clause texts: the questions say what a task looks like far better than five keywords do, so a stemez
physics problem finds the "physics problems" task and not MMLU's conceptual physics. They depend only on
the aptitude set and the encoder, never on a model's answers, so a new model's card uses them as they are.

Example:
    prototypes = task_prototypes(net.capability.embed_texts, aptitude, prompts)
    save_prototypes(prototypes, router_dir / PROTOTYPES_FILE)
"""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card
from modelsat.errors import DataError, RouterError
from modelsat.io import atomic_write_bytes

if TYPE_CHECKING:
    import pandas as pd

    from modelsat.router.routing.routing_text import RoutingTextReader

PROTOTYPES_FILE = "prototypes.safetensors"


@torch.no_grad()
def task_prototypes(
    embed: Callable[[Sequence[str]], torch.Tensor], aptitude: AptitudeSet, prompts: Mapping[str, str]
) -> dict[str, torch.Tensor]:
    """Per core task, the unit-norm mean of its questions' unit-norm embeddings (`prompts`: query id → text)."""
    missing = [q for task in aptitude.tasks for q in task.query_ids if q not in prompts]
    if missing:
        raise DataError(f"no prompt for {len(missing)} aptitude question(s), e.g. {missing[0]!r}")
    prototypes = {}
    for task in aptitude.tasks:
        vectors = torch.nn.functional.normalize(embed([prompts[q] for q in task.query_ids]).float(), dim=-1)
        prototypes[task.name] = torch.nn.functional.normalize(vectors.mean(0), dim=-1).cpu()
    return prototypes


def aptitude_prototypes(
    embed: Callable[[Sequence[str]], torch.Tensor],
    aptitude: AptitudeSet,
    outcomes: "pd.DataFrame",
    reader: "RoutingTextReader",
) -> dict[str, torch.Tensor]:
    """Task prototypes of `aptitude` from its questions in `outcomes`, as routing reads them."""
    questions = outcomes[outcomes["query_id"].isin(aptitude.query_ids)].drop_duplicates("query_id")
    prompts = dict(zip(questions["query_id"], reader.texts(questions["prompt"].tolist()), strict=True))
    return task_prototypes(embed, aptitude, prompts)


def save_prototypes(prototypes: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write the prototypes atomically (safetensors, one tensor per task name)."""
    tmp = path.with_name(f".{path.name}.tmp")
    save_file({name: vec.contiguous() for name, vec in prototypes.items()}, str(tmp))
    atomic_write_bytes(path, tmp.read_bytes())
    tmp.unlink()


def load_prototypes(path: Path) -> dict[str, torch.Tensor]:
    """Read prototypes written by `save_prototypes`.

    Raises:
        RouterError: naming the file when it is missing or not a safetensors file.
    """
    from safetensors import SafetensorError

    if not path.is_file():
        raise RouterError(f"{path}: this router reads task prototypes but the file is missing (retrain it)")
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise RouterError(f"{path}: not task prototypes ({exc}); retrain the router") from exc


def prototype_keys(prototypes: Mapping[str, torch.Tensor], tasks: Sequence[str]) -> torch.Tensor:
    """(len(tasks), D) prototypes in the order of a card's tasks, with a clear error for an unknown task."""
    unknown = [t for t in tasks if t not in prototypes]
    if unknown:
        raise RouterError(f"card task {unknown[0]!r} has no prototype in this router: profile with its aptitude set")
    return torch.stack([prototypes[t] for t in tasks])


def card_prototype_keys(prototypes: Mapping[str, torch.Tensor], cards: Sequence[Card], n_clauses: int) -> torch.Tensor:
    """(N, n_clauses, D) readout keys of `cards`: each task clause's prototype, zero rows for the facts (which the
    readout masks)."""
    keys = []
    for card in cards:
        tasks = prototype_keys(prototypes, [s.task for s in card.scores])
        keys.append(torch.cat([tasks, tasks.new_zeros(n_clauses - len(tasks), tasks.shape[1])]))
    return torch.stack(keys)


def nearest_tasks(embedded: torch.Tensor, prototypes: Mapping[str, torch.Tensor]) -> list[str]:
    """The task whose prototype is nearest (cosine) to each of (B, D) encoder embeddings."""
    names = list(prototypes)
    keys = torch.stack([prototypes[name] for name in names]).float()  # (T, D)
    vectors = torch.nn.functional.normalize(embedded.float(), dim=-1)
    return [names[i] for i in (vectors @ keys.T).argmax(dim=-1).tolist()]
