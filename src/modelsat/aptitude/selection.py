"""Core-task selection: the aptitude test every candidate takes (Model-SAT §3.1).

A question discriminates when the training zoo splits on it: its weight is p·(1−p), p = the
zoo's accuracy on it (1/4 at p = ½, 0 when all or none are right). Each subject keeps
`n_per_task` questions; the `n_tasks` subjects whose kept questions discriminate most become the
core tasks. Which questions a subject keeps is the `sampling`:

- "representative" (default): a seeded uniform sample of the questions the zoo splits on
  (0 < p < 1). A card's accuracy then estimates the model's accuracy on the subject, so cards of
  models outside the training zoo compare fairly with those inside it.
- "discriminative" (the paper): the heaviest questions, p nearest ½. Choosing questions by the
  training zoo's own answers inflates the cards of the models whose answers chose them: on the
  MMLU-Pro data, Llama-3.1-8B scores 67 % on such a test and 30 % on the test split (docs/aptitude.md).

Zoos without MMLU results get core tasks from clusters of their own train queries instead
(`aptitude/clustering.py`).

Example:
    aptitude = select_aptitude_set(outcomes, SMALL, n_tasks=50, n_per_task=20, seed=0)
    aptitude.save("routers/mine/aptitude.json")
"""

from typing import Literal

import numpy as np
import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask, Sampling, pick_questions, question_weights
from modelsat.aptitude.clustering import Embedder, cluster_aptitude_set, task_aptitude_set
from modelsat.aptitude.subjects import SUBJECT_KEYWORDS, task_description
from modelsat.errors import ConfigError, DataError

Method = Literal["auto", "mmlu", "clusters", "tasks"]
METHODS = ("auto", "mmlu", "clusters", "tasks")


def discriminativeness(outcomes: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """`question_weights` of the MMLU-origin questions."""
    return question_weights(outcomes[outcomes["task"].str.startswith("mmlu/")], models)


def select_aptitude_set(
    outcomes: pd.DataFrame,
    models: list[str],
    n_tasks: int = 50,
    n_per_task: int = 20,
    seed: int = 0,
    method: Method = "auto",
    embedder: "Embedder | None" = None,
    sampling: Sampling = "representative",
    other_tasks: bool = False,
) -> AptitudeSet:
    """Choose `n_tasks` core tasks × `n_per_task` questions on the zoo `models`, kept by `sampling`.

    `other_tasks`: besides the MMLU subjects, every other task of the outcomes (MMLU-Pro's own
    problem categories, ARC, ...) with `n_per_task` eligible questions becomes a core task too, so
    the cards also measure the kinds of request that are not MMLU questions.
    `method`: "mmlu" uses MMLU subjects; "clusters" clusters the zoo's train queries
    (`aptitude/clustering.py`, `embedder` defaults to cached MiniLM); "tasks" keeps the outcomes' own
    tasks apart and clusters within each (a dataset that is one big task becomes several core tasks);
    "auto" takes "mmlu" when the outcomes hold any `mmlu/` task, else "clusters". Only questions that every model in
    `outcomes` answered are eligible, so every model there (and not just the training zoo) can be
    given a card from the same test.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown aptitude method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "auto" and not outcomes["task"].str.startswith("mmlu/").any():
        method = "clusters"
    if method == "clusters":
        return cluster_aptitude_set(outcomes, models, n_tasks, n_per_task, seed, embedder, sampling)
    if method == "tasks":
        return task_aptitude_set(outcomes, models, n_tasks, n_per_task, seed, embedder, sampling)
    n_models = outcomes["model"].nunique()
    answered_by_all = outcomes.groupby("query_id")["model"].nunique()
    eligible = answered_by_all.index[answered_by_all == n_models]
    stats = discriminativeness(outcomes[outcomes["query_id"].isin(eligible)], models)
    rng = np.random.default_rng(seed)
    chosen: list[tuple[float, CoreTask]] = []
    for task, group in stats.groupby("task", sort=True):
        if len(group) < n_per_task or task not in SUBJECT_KEYWORDS:
            continue
        top = pick_questions(group, n_per_task, sampling, rng)
        chosen.append((float(top["weight"].mean()), CoreTask(task, SUBJECT_KEYWORDS[task], tuple(top.index))))
    if len(chosen) < n_tasks:
        raise DataError(
            f"only {len(chosen)} MMLU subjects have {n_per_task} questions answered by all of "
            f"{len(models)} model(s); need {n_tasks}"
        )
    chosen.sort(key=lambda item: (-item[0], item[1].name))
    tasks = [t for _, t in chosen[:n_tasks]]
    if other_tasks:
        tasks += _other_core_tasks(outcomes[outcomes["query_id"].isin(eligible)], models, n_per_task, sampling, rng)
    return AptitudeSet(tasks=tuple(sorted(tasks, key=lambda t: t.name)), zoo=tuple(models), seed=seed)


def _other_core_tasks(
    outcomes: pd.DataFrame, models: list[str], n_per_task: int, sampling: Sampling, rng: np.random.Generator
) -> list[CoreTask]:
    """A core task for each non-MMLU task with at least `n_per_task` questions (`select_aptitude_set`)."""
    stats = question_weights(outcomes[~outcomes["task"].str.startswith("mmlu/")], models)
    return [
        CoreTask(str(task), task_description(str(task)), tuple(pick_questions(group, n_per_task, sampling, rng).index))
        for task, group in stats.groupby("task", sort=True)
        if len(group) >= n_per_task
    ]
