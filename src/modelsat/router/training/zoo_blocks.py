"""The zoos a router trains on, one block each: a router trained on the table of `modelsat import all` compares on a
query only the models that answered it, so every training step and every validation pass stays within one zoo.

A zoo is a query id's first path component when it names a zoo of `import all` (`training_data.training_zoos`;
any other id: one zoo of its own). A block holds one zoo's train and validation matrices (dense: every model of the
zoo answered each query), the cards of its loss models and of all its models, and what a step draws from it. A table
of one zoo gives one block, and training reads it exactly as it read that zoo's matrix before. With several zoos:

- per-zoo settings (`train.selection_models`, `max_train_queries`, `val_queries`) count per zoo, or per zoo as a
  mapping gives (`config.per_zoo`); selection models are picked among the models of that zoo alone;
- a step draws its zoo with probability ∝ the zoo's training queries, then a batch of that zoo's queries;
- a train or validation query whose question another zoo tests on is left out (`data/questions.py`), so no zoo's
  test split is learnt through another zoo's copy of it;
- the kept weights route the validation queries best averaged over the zoos (each zoo's routed accuracy counts the
  same, whatever its number of queries).

Example:
    selection = selection_models(outcomes, models, cfg.train, aptitude.query_ids)
    blocks = zoo_blocks(outcomes, models, selection, cfg.train, cards_by_model, aptitude.query_ids)
    block = draw_block(blocks, rng)  # the zoo of the next step
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from modelsat.aptitude.cards import Card
from modelsat.errors import ConfigError, DataError
from modelsat.router.config import TrainConfig, per_zoo
from modelsat.router.training.prefix_store import PrefixStore
from modelsat.router.training.training_data import ScoreMatrix, training_zoos, zoo_matrices

log = logging.getLogger(__name__)


@dataclass
class ZooBlock:
    """One zoo's share of training: its matrices, cards and per-step state."""

    zoo: str
    train: ScoreMatrix  # informative train queries × the zoo's loss models
    val: ScoreMatrix  # validation queries × every model of the zoo
    cards: list[Card]  # the loss models' cards, in `train.models` order
    val_cards: list[Card]  # every zoo model's card, in `val.models` order
    pending: list[np.ndarray] = field(default_factory=list)  # batches drawn and not yet used
    store: PrefixStore | None = None
    val_store: PrefixStore | None = None

    @property
    def lengths(self) -> np.ndarray:
        """(Q,) characters per training prompt (batches group similar lengths)."""
        return np.array([len(p) for p in self.train.prompts])

    def model_weights(self) -> torch.Tensor:
        """(M,) each loss model's train accuracy over the zoo's mean (`train.strong_model_weighting`)."""
        return torch.tensor(self.train.model_accuracy / self.train.model_accuracy.mean())


def leaked_query_ids(outcomes: pd.DataFrame) -> set[str]:
    """Train and validation query ids whose question another zoo of `outcomes` tests on (none for one zoo)."""
    from modelsat.data.questions import in_another_zoos_test

    if training_zoos(outcomes["query_id"].drop_duplicates()).nunique() < 2:
        return set()
    return set(outcomes.loc[in_another_zoos_test(outcomes), "query_id"])


def pick_selection(strength: Mapping[str, float], n: int, zoo: str) -> list[str]:
    """`n` of the models in `strength` (model → train accuracy) spread evenly over it, weakest to strongest, never
    the extremes.

    Raises:
        ConfigError: when fewer than two models would be left for the loss.
    """
    if n == 0:
        return []
    if len(strength) - n < 2:
        raise ConfigError(
            f"train.selection_models={n} leaves fewer than 2 of the {len(strength)} models of zoo {zoo} to train on"
        )
    ranked = sorted(strength, key=strength.__getitem__)  # stable: ties keep the zoo's order
    picks = np.linspace(0, len(ranked) - 1, n + 2)[1:-1].round().astype(int)
    return [ranked[i] for i in picks]


def selection_models(
    outcomes: pd.DataFrame,
    models: Sequence[str],
    tc: TrainConfig,
    exclude: Iterable[str],
    zoos: Iterable[str] | None = None,
) -> list[str]:
    """The models held out of the loss (`train.selection_models` per zoo of `zoos`, None: every zoo), each chosen
    among the models of its zoo alone: a model that answered several zoos is always trained on."""
    matrices = zoo_matrices(outcomes, models, "train", exclude, zoos)
    in_zoos: dict[str, int] = {}
    for matrix in matrices.values():
        for model in matrix.models:
            in_zoos[model] = in_zoos.get(model, 0) + 1
    picked = []
    for zoo, matrix in matrices.items():
        n = per_zoo(tc.selection_models, zoo, 0) or 0
        strength = {m: float(a) for m, a in zip(matrix.models, matrix.model_accuracy, strict=True) if in_zoos[m] == 1}
        picked += pick_selection(strength, n, zoo)
    return picked


def zoo_blocks(
    outcomes: pd.DataFrame,
    models: Sequence[str],
    selection: Sequence[str],
    tc: TrainConfig,
    cards_by_model: Mapping[str, Card],
    exclude: Iterable[str],
    zoos: Iterable[str] | None = None,
) -> list[ZooBlock]:
    """One block per zoo of `outcomes` (of `zoos`; None: every zoo) with two or more of `models` (module docstring);
    `selection` joins validation by card only. Queries another zoo of the whole table tests on are left out, the
    zoos not trained on included.

    Raises:
        DataError: a zoo with training queries but no validation query (or the reverse).
        ConfigError: `train.mixed_models` or `select_by: aiq` asked of several zoos.
    """
    exclude = set(exclude) | leaked_query_ids(outcomes)
    loss_models = [m for m in models if m not in selection]
    train = zoo_matrices(outcomes, loss_models, "train", exclude, zoos)
    val = zoo_matrices(outcomes, models, "validation", exclude, zoos)
    if set(train) != set(val):
        odd = sorted(set(train) ^ set(val))
        raise DataError(f"zoo(s) {', '.join(odd)}: train and validation queries must both exist for its models")
    if len(train) > 1 and (tc.mixed_models or tc.select_by == "aiq"):
        raise ConfigError("train.mixed_models and train.select_by=aiq take the outcomes of one zoo")
    blocks = []
    for zoo in sorted(train):
        matrix = train[zoo].informative()
        cap = per_zoo(tc.max_train_queries, zoo, None)
        if cap is not None:
            matrix = matrix.subset(cap, tc.seed)
        checked = val[zoo]
        n_val = per_zoo(tc.val_queries, zoo, None)
        if n_val is not None:
            checked = checked.subset(n_val, tc.seed)
        cards = [cards_by_model[m] for m in matrix.models]
        blocks.append(ZooBlock(zoo, matrix, checked, cards, [cards_by_model[m] for m in checked.models]))
        if len(train) > 1:
            log.info(
                "%s: %d train queries × %d models, %d validation queries",
                zoo,
                len(matrix.prompts),
                len(matrix.models),
                len(checked.prompts),
            )
    return blocks


def draw_block(blocks: Sequence[ZooBlock], rng: np.random.Generator) -> ZooBlock:
    """The zoo of the next step: the only one, or one drawn ∝ its training queries."""
    if len(blocks) == 1:
        return blocks[0]
    sizes = np.array([len(b.train.prompts) for b in blocks], dtype=np.float64)
    return blocks[int(rng.choice(len(blocks), p=sizes / sizes.sum()))]
