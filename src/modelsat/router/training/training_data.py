"""Training material for capability instruction tuning: a query × model score matrix per split.

Example:
    train = ScoreMatrix.from_outcomes(outcomes, models, "train", exclude=aptitude.query_ids)
    rows = train.sample_rows(16, rng, discriminative=True)
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelsat.data.splits import split_outcomes
from modelsat.errors import DataError


@dataclass
class ScoreMatrix:
    """Queries answered by every model of a zoo: prompts (Q,), scores (Q, M)."""

    query_ids: np.ndarray
    prompts: list[str]
    scores: np.ndarray
    models: list[str]

    @classmethod
    def from_outcomes(
        cls, outcomes: pd.DataFrame, models: Sequence[str], split: str, exclude: Iterable[str] = ()
    ) -> "ScoreMatrix":
        """Pivot the rows of `split` (aptitude ids excluded) for `models`."""
        rows = split_outcomes(outcomes[outcomes["model"].isin(models)], split, exclude=exclude)
        table = rows.pivot_table(index="query_id", columns="model", values="score", aggfunc="first")
        table = table.reindex(columns=list(models)).dropna()
        if table.empty:
            raise DataError(f"no {split} queries answered by all of {', '.join(models)}")
        prompts = rows.drop_duplicates("query_id").set_index("query_id")["prompt"]
        return cls(table.index.to_numpy(), prompts.loc[table.index].tolist(), table.to_numpy(np.float64), list(models))

    @property
    def zoo_accuracy(self) -> np.ndarray:
        """(Q,) fraction of models right on each query."""
        return self.scores.mean(axis=1)

    @property
    def model_accuracy(self) -> np.ndarray:
        """(M,) accuracy of each model."""
        return self.scores.mean(axis=0)

    def informative(self) -> "ScoreMatrix":
        """Only queries where the zoo disagrees (some but not all models right): the ones routing can win."""
        p = self.zoo_accuracy
        keep = (p > 0) & (p < 1)
        return ScoreMatrix(
            self.query_ids[keep], [self.prompts[i] for i in np.flatnonzero(keep)], self.scores[keep], self.models
        )

    def sample_rows(self, n: int, rng: np.random.Generator, discriminative: bool) -> np.ndarray:
        """Row indices for one step; with `discriminative`, weight p(1−p) (+ a floor) as in the paper's refinement."""
        replace = n > len(self.prompts)
        if discriminative:
            p = self.zoo_accuracy
            weight = p * (1 - p) + 0.02
            return rng.choice(len(p), size=n, replace=replace, p=weight / weight.sum())
        return rng.choice(len(self.prompts), size=n, replace=replace)

    def length_bucketed_batches(
        self, batch_size: int, n_batches: int, rng: np.random.Generator, discriminative: bool, lengths: np.ndarray
    ) -> list[np.ndarray]:
        """`n_batches` batches from one sample of `batch_size·n_batches` rows, grouped by prompt length so
        a batch carries little padding; the batch order is shuffled."""
        rows = self.sample_rows(batch_size * n_batches, rng, discriminative)
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def subset(self, n: int, seed: int) -> "ScoreMatrix":
        """A fixed random subset of `n` queries (validation during training)."""
        if n >= len(self.prompts):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self.prompts), size=n, replace=False))
        return ScoreMatrix(self.query_ids[idx], [self.prompts[i] for i in idx], self.scores[idx], self.models)


OTHER_ZOO = "outcomes"  # the block of queries whose id names no zoo of `import all`


def training_zoos(query_ids: pd.Series) -> pd.Series:
    """The zoo each query trains in: its id's first path component when that names a zoo of `modelsat import all`
    (`mmlu-pro/…`, `routerdc/…`, `alpaca-eval/…`, `routerbench/…`), else `OTHER_ZOO` (a table of one's own)."""
    from modelsat.data.importers.all_zoos import ZOO_SOURCES, zoo_of

    prefix = zoo_of(query_ids)
    return prefix.where(prefix.isin(list(ZOO_SOURCES)), OTHER_ZOO)


def zoo_matrices(
    outcomes: pd.DataFrame,
    models: Sequence[str],
    split: str,
    exclude: Iterable[str] = (),
    zoos: Iterable[str] | None = None,
) -> dict[str, ScoreMatrix]:
    """One `ScoreMatrix` per zoo of `outcomes` (`training_zoos`), each with the `models` that answered that zoo's
    queries, in `models`' order. A table of one zoo gives one matrix, exactly `ScoreMatrix.from_outcomes`; the table
    of `modelsat import all` gives one per zoo, so a router trained on every zoo compares on each query only the
    models that answered it. `zoos` keeps those zoos only (None: every zoo).

    Raises:
        DataError: when no zoo has two models and a query they all answered.
    """
    rows = outcomes[outcomes["model"].isin(models)]
    of_row = training_zoos(rows["query_id"])
    kept = None if zoos is None else set(zoos)
    blocks = {}
    for zoo in sorted(z for z in of_row.unique() if kept is None or z in kept):
        answered = set(rows.loc[of_row == zoo, "model"])
        zoo_models = [m for m in models if m in answered]
        if len(zoo_models) >= 2:
            blocks[zoo] = ScoreMatrix.from_outcomes(rows[of_row == zoo], zoo_models, split, exclude)
    if not blocks:
        raise DataError(f"no zoo of these outcomes has two of {', '.join(models)} answering one {split} query")
    return blocks
