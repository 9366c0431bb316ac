"""What a RouterDC score means per task, and recognising a table imported before it was read that way.

RouterDC's files mix two kinds of score (its `train_router_mdeberta.py`, `evaluation()`): on the
multiple-choice tasks (5-shot log-likelihood) a score is the gold option's probability when the model's
top option is the gold one and 0 otherwise, so the answer is right exactly when the score is above 0; on
the sampled tasks it is the share of 10 answers that were right (an estimate of pass@1); MATH is 0/1.
The outcomes table stores what a score means everywhere else, the share right: 1/0 for multiple choice.

Example:
    refuse_stale_routerdc(read_parquet("specialists.parquet"), "specialists.parquet")
"""

import pandas as pd

from modelsat.errors import DataError

SOURCE = "routerdc"
MULTIPLE_CHOICE = frozenset({"mmlu", "cmmlu", "arc-challenge", "arc-easy", "ceval"})
SAMPLED = frozenset({"gsm8k", "humaneval", "mbpp", "humaneval-js"})
SINGLE_SAMPLE = frozenset({"math-prealgebra"})
MEANING = {
    **dict.fromkeys(MULTIPLE_CHOICE, "right (1) when the gold option's probability was above 0, else wrong (0)"),
    **dict.fromkeys(SAMPLED, "share of 10 sampled answers right (pass@1 estimate)"),
    **dict.fromkeys(SINGLE_SAMPLE, "one answer, right (1) or wrong (0)"),
}


def as_share_right(task: str, score: float) -> float:
    """A RouterDC file's raw score for `task` as the share of answers right."""
    if task in MULTIPLE_CHOICE:
        return 1.0 if score > 0 else 0.0
    return score


def refuse_stale_routerdc(outcomes: pd.DataFrame, origin: str) -> None:
    """Refuse a table whose RouterDC multiple-choice scores are probabilities (imported before they were binarised).

    Raises:
        DataError: naming `origin`, the task and what to run to re-import.
    """
    if "source" not in outcomes or not (outcomes["source"] == SOURCE).any():
        return
    rows = outcomes[(outcomes["source"] == SOURCE) & outcomes["task"].isin(MULTIPLE_CHOICE)]
    stale = rows[(rows["score"] > 0) & (rows["score"] < 1)]
    if stale.empty:
        return
    task = stale["task"].iloc[0]
    example = stale["score"].iloc[0]
    raise DataError(
        f"{origin}: {len(stale):,} RouterDC multiple-choice score(s) (task '{task}', e.g. {example:.3f}) are "
        "gold-option probabilities, as imported before modelsat read them as RouterDC scores them (right when "
        f"above 0); re-import: `modelsat import routerdc DATA/routerdc -o {origin} --replace`"
    )
