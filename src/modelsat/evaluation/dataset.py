"""The evaluation set: train rows for fitting baselines and the test queries every method is judged on.

Test queries = the test split (sha256, DESIGN §3) of the queries that every zoo model answered,
aptitude questions excluded; `limit` keeps a seeded random sample of them. The zoo's answers to the
excluded aptitude questions are kept apart: they are all that zero-shot baselines may read of a model.

Example:
    data = build_eval_set(outcomes, models, exclude=aptitude.query_ids, limit=500, seed=0)
    data.y.shape  # (n_test_queries, n_models)
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelsat.baselines.common import outcome_matrix
from modelsat.data.splits import split_outcomes
from modelsat.errors import DataError


@dataclass(frozen=True)
class EvalSet:
    """Train rows (long format) and the test queries with their outcome matrix."""

    models: list[str]
    train: pd.DataFrame
    test_rows: pd.DataFrame
    queries: pd.DataFrame
    y: np.ndarray  # (n_queries, n_models), no NaN
    aptitude_rows: pd.DataFrame  # the zoo's answers to the excluded (aptitude) questions, for zero-shot baselines


def build_eval_set(
    outcomes: pd.DataFrame,
    models: Sequence[str],
    exclude: Iterable[str] = (),
    limit: int | None = None,
    seed: int = 0,
) -> EvalSet:
    """Split the zoo's outcomes into train rows and complete test queries.

    Raises:
        DataError: when no test query was answered by every model of the zoo.
    """
    models = list(models)
    excluded = set(exclude)
    rows = outcomes[outcomes["model"].isin(models)]
    train = split_outcomes(rows, "train", exclude=excluded)
    test = split_outcomes(rows, "test", exclude=excluded)
    counts = test.groupby("query_id")["model"].nunique()
    complete = counts.index[counts == len(models)]
    if limit is not None and limit < len(complete):
        complete = np.random.default_rng(seed).choice(np.sort(complete.to_numpy()), size=limit, replace=False)
    if len(complete) == 0:
        raise DataError(f"no test query was answered by all {len(models)} model(s) of the zoo")
    test = test[test["query_id"].isin(set(complete))]
    queries, y = outcome_matrix(test, models)
    aptitude_rows = rows[rows["query_id"].isin(excluded)]
    return EvalSet(models=models, train=train, test_rows=test, queries=queries, y=y, aptitude_rows=aptitude_rows)
