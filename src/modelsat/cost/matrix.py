"""Per-query cost matrices for evaluation: the data's own `cost` column, or estimates from a prices file.

Example:
    cost = cost_matrix(test_rows, queries, models)            # RouterBench: recorded USD per query
    cost = cost_matrix(test_rows, queries, models, prices)    # MMLU-Pro: estimated from list prices
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelsat.cost.prices import PriceTable
from modelsat.errors import ConfigError


def query_text(queries: pd.DataFrame) -> list[str]:
    """The text a model reads for each query: the prompt, plus the options when the data has them."""
    prompts = queries["prompt"].astype(str)
    if "options" not in queries:
        return prompts.tolist()
    options = queries["options"].where(queries["options"].notna(), "").astype(str)
    return (prompts + "\n" + options).str.rstrip().tolist()


def recorded_costs(rows: pd.DataFrame, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray | None:
    """(n_queries, n_models) USD from the outcomes' `cost` column; None unless every pair has one."""
    if "cost" not in rows:
        return None
    wide = rows.pivot_table(index="query_id", columns="model", values="cost", aggfunc="first")
    wide = wide.reindex(index=queries["query_id"], columns=list(models))
    matrix = wide.to_numpy(dtype=np.float64)
    return None if np.isnan(matrix).any() else matrix


def cost_matrix(
    rows: pd.DataFrame, queries: pd.DataFrame, models: Sequence[str], prices: PriceTable | None = None
) -> np.ndarray:
    """Cost of sending each query to each model: estimated from `prices` when given, else recorded in the data.

    Raises:
        ConfigError: without `prices` when the outcomes do not record a cost for every (query, model).
    """
    if prices is not None:
        # `queries` may lack the options column (baselines' query tables); take it from the rows.
        texts = rows.drop_duplicates("query_id").set_index("query_id").reindex(queries["query_id"])
        return prices.estimate(query_text(texts), models)
    recorded = recorded_costs(rows, queries, models)
    if recorded is None:
        raise ConfigError(
            "the outcomes do not record a cost for every (query, model) pair; pass --prices FILE "
            "(USD per 1M tokens per model, see docs/cost.md)"
        )
    return recorded
