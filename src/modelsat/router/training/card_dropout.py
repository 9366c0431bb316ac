"""Card dropout (`train.card_dropout`): train the readout and the capability LLM on partial cards.

Every model of a mixed zoo has results on only some kinds of request, so the router must read cards that say what
was not tested (`aptitude/cards.py`). With probability `rate` a step's card is replaced by a partial copy: its core
tasks are grouped by kind of request (`TaskScore.kind`; a card of one kind, such as MMLU's subjects, groups task by
task), and each group is marked untested with probability one half, at least one group dropped and one kept.

Example:
    step_cards = [drop_entries(card, rng, 0.3) for card in step_cards]
"""

from dataclasses import replace

import numpy as np

from modelsat.aptitude.cards import Card, TaskScore


def drop_entries(card: Card, rng: np.random.Generator, rate: float) -> Card:
    """`card`, or with probability `rate` a partial copy with some groups of its tested tasks not tested."""
    tested = [s for s in card.scores if s.tested]
    if rate <= 0 or len(tested) < 2 or rng.random() >= rate:
        return card
    by_kind = len({s.kind for s in tested}) > 1

    def group(score: TaskScore) -> str:
        return str(score.kind) if by_kind else score.task

    groups = sorted({group(s) for s in tested})
    dropped = {g for g in groups if rng.random() < 0.5}
    if len(dropped) == len(groups):
        dropped.discard(groups[int(rng.integers(len(groups)))])
    if not dropped:
        dropped.add(groups[int(rng.integers(len(groups)))])
    scores = [
        TaskScore(s.task, s.description, None, s.kind) if s.tested and group(s) in dropped else s for s in card.scores
    ]
    return replace(card, scores=scores)
