"""Summary of an outcomes table: models, queries and accuracy per model, tasks, split and domain sizes.

Example:
    summary = summarize(read_outcomes("outcomes.parquet"), models=["mathstral-7B"])
    summary["models"]["mathstral-7B"]["accuracy"]
"""

from collections.abc import Sequence

import pandas as pd

from modelsat.data.routerdc_scoring import MEANING, SOURCE
from modelsat.data.splits import SPLITS, declared_splits, domain_of, split_of


def summarize(outcomes: pd.DataFrame, models: Sequence[str] | None = None) -> dict:
    """Describe `outcomes` (restricted to `models` when given) as a JSON-ready dict.

    Returns:
        `{"n_rows", "n_models", "n_queries", "models": {name: {"queries", "accuracy", "mean_cost"}},
        "n_tasks", "tasks": {task: n_queries}, "score_meaning": {task: text}, "splits": {split: n_queries},
        "domains": {domain: n_queries}}`; `score_meaning` says what a score is for the tasks of sources whose
        scores differ per task (RouterDC's); query counts are distinct query ids, `mean_cost` is null where no
        cost is known.
    """
    if models is not None:
        outcomes = outcomes[outcomes["model"].isin(list(models))]
    per_model = outcomes.groupby("model", sort=True).agg(
        queries=("query_id", "nunique"), accuracy=("score", "mean"), mean_cost=("cost", "mean")
    )
    queries = outcomes.drop_duplicates("query_id")
    splits = pd.Series(split_of(queries["query_id"], declared_splits(queries))).value_counts()
    domains = pd.Series(domain_of(queries)).value_counts()
    tasks = queries["task"].value_counts().sort_index()
    return {
        "n_rows": len(outcomes),
        "n_models": len(per_model),
        "n_queries": len(queries),
        "models": {
            name: {
                "queries": int(row.queries),
                "accuracy": float(row.accuracy),
                "mean_cost": None if pd.isna(row.mean_cost) else float(row.mean_cost),
            }
            for name, row in per_model.iterrows()
        },
        "n_tasks": len(tasks),
        "tasks": {str(task): int(n) for task, n in tasks.items()},
        "score_meaning": score_meaning(queries),
        "splits": {split: int(splits.get(split, 0)) for split in SPLITS},
        "domains": {domain: int(domains.get(domain, 0)) for domain in ("in_domain", "out_of_domain")},
    }


def score_meaning(queries: pd.DataFrame) -> dict[str, str]:
    """What a score means for each RouterDC task in `queries` (one row per query)."""
    tasks = sorted(queries.loc[queries["source"] == SOURCE, "task"].unique())
    return {task: MEANING[task] for task in tasks if task in MEANING}
