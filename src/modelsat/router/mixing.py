"""Mixed-model augmentation: extra zoo members that are one real model on some task groups and another
on the rest.

A training zoo of ten-odd models lets a router learn each model's overall strength and recognise
its card, without ever reading the card clause that matters for an instruction. A mixed model
"A on groups G, B elsewhere" has a card whose clauses come from A's card for the core tasks in G and
from B's for the others, and answers each training instruction as A does when the instruction's
group is in G, as B does otherwise. Its strengths move with the instruction, so only reading the
right clause predicts it.

Groups are the outcomes' `category` (MMLU-Pro's 14) where present, else `task`; a core task belongs
to the majority group of its aptitude questions.

Example:
    groups = TaskGroups.from_outcomes(outcomes, aptitude, train.query_ids)
    extra_cards, extra_targets = mix_models(cards, train.scores[rows], groups.of_queries[rows], groups, 8, rng)
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card, TaskScore


@dataclass(frozen=True)
class TaskGroups:
    """Group index of each training query and of each core task (clause) of the aptitude set."""

    of_queries: np.ndarray
    of_tasks: np.ndarray
    n_groups: int

    @classmethod
    def from_outcomes(cls, outcomes: pd.DataFrame, aptitude: AptitudeSet, query_ids: Sequence[str]) -> "TaskGroups":
        """Label training queries and core tasks by `category` (or `task` where there is none)."""
        firsts = outcomes.drop_duplicates("query_id").set_index("query_id")
        labels = firsts["task"].astype(str)
        if "category" in firsts.columns:
            labels = firsts["category"].where(firsts["category"].notna(), labels).astype(str)
        task_labels = [labels.loc[list(t.query_ids)].mode().iloc[0] for t in aptitude.tasks]
        names = sorted(set(labels.loc[list(query_ids)]) | set(task_labels))
        index = {name: i for i, name in enumerate(names)}
        return cls(
            of_queries=labels.loc[list(query_ids)].map(index).to_numpy(),
            of_tasks=np.array([index[label] for label in task_labels]),
            n_groups=len(names),
        )


def mix_models(
    cards: Sequence[Card],
    targets: np.ndarray,
    query_groups: np.ndarray,
    groups: TaskGroups,
    n: int,
    rng: np.random.Generator,
) -> tuple[list[Card], np.ndarray]:
    """`n` mixed models for one batch: their cards and (B, n) targets.

    `targets` (B, M) are the real models' scores on the batch, `query_groups` (B,) its instructions'
    groups. Each mixed model takes two distinct real models and gives every group to the first with
    probability ½.
    """
    mixed_cards, columns = [], []
    for _ in range(n):
        a, b = rng.choice(len(cards), size=2, replace=False)
        from_a = rng.random(groups.n_groups) < 0.5
        task_from_a = from_a[groups.of_tasks]
        scores = [
            TaskScore(sa.task, sa.description, sa.accuracy if use_a else sb.accuracy)
            for sa, sb, use_a in zip(cards[a].scores, cards[b].scores, task_from_a, strict=True)
        ]
        mixed_cards.append(
            Card(
                model=f"{cards[a].model}|{cards[b].model}",
                aptitude_fingerprint=cards[a].aptitude_fingerprint,
                scores=scores,
                facts=cards[a].facts,
                template=cards[a].template,
            )
        )
        columns.append(np.where(from_a[query_groups], targets[:, a], targets[:, b]))
    return mixed_cards, np.stack(columns, axis=1) if columns else np.zeros((len(targets), 0))
