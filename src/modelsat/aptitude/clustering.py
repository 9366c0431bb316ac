"""Any-domain aptitude tests: core tasks from clusters of the zoo's own training queries.

When a zoo has no MMLU results (RouterBench, a user's own data) there are no subjects to build
core tasks from, so they are made (Model-SAT §3.1 with learned tasks):

1. Eligible questions: train-split queries (DESIGN §3) answered by every model in the outcomes.
2. Their texts lose the prefix shared by every prompt of their `task` (few-shot demonstrations
   repeated in each prompt would otherwise dominate the embedding), then are embedded
   (all-MiniLM-L6-v2 by default, cached) and split into `n_tasks` clusters by k-means (seeded).
3. Each cluster is described by its five most telling words: highest mean TF-IDF inside the cluster
   minus the mean over all eligible questions.
4. Each cluster keeps `n_per_task` questions, picked by `sampling` as for MMLU subjects
   (`selection.pick_questions`: a seeded sample of those the training zoo splits on, or the most
   discriminative).

`task_aptitude_set` does the same inside each of the outcomes' own tasks (a zoo of several datasets:
math word problems, code, Chinese exams, ...): every task gets core tasks of its own, as many as its
share of the `n_tasks` (∝ √ of its eligible questions, at least one), so no dataset is missing from
the cards and a big one is split by what its questions are about.

Example:
    aptitude = cluster_aptitude_set(outcomes, models, n_tasks=20, n_per_task=10, seed=0)
    aptitude.tasks[0].description  # e.g. 'Function, List, Python, Write, Elements'
"""

import os
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask, Sampling, pick_questions, question_weights
from modelsat.aptitude.subjects import task_description
from modelsat.data.splits import split_outcomes
from modelsat.errors import DataError

Embedder = Callable[[Sequence[str]], np.ndarray]
N_KEYWORDS = 5


def strip_shared_prefix(texts: pd.Series, groups: pd.Series) -> pd.Series:
    """Each text without the prefix (cut at a line break) that every text of its group starts with."""
    out = texts.copy()
    for _, idx in texts.groupby(groups.to_numpy()).groups.items():
        members = texts.loc[idx]
        if len(members) < 2:
            continue
        shared = os.path.commonprefix(members.tolist())
        cut = shared.rfind("\n") + 1  # keep whole lines: the shared part may end inside the question
        if cut:
            out.loc[idx] = members.str[cut:].where(members.str.len() > cut, members)
    return out


def cluster_keywords(texts: Sequence[str], labels: np.ndarray, n_clusters: int, n_words: int = N_KEYWORDS) -> list[str]:
    """Per cluster, its `n_words` most over-represented words (TF-IDF contrast), capitalised and joined by ', '.

    Words never written in lower case (names such as "Cynthia") and words in over half the texts
    (instructions repeated in every prompt) are skipped: they describe no skill.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", token_pattern=r"(?u)\b[A-Za-z][A-Za-z]+\b", min_df=2, max_df=0.5
    )
    x = vectorizer.fit_transform(texts)
    words = vectorizer.get_feature_names_out()
    lower = set(re.findall(r"\b[a-z][a-z]+\b", "\n".join(texts)))
    common = np.array([w in lower for w in words])
    overall = np.asarray(x.mean(axis=0)).ravel()
    described = []
    for k in range(n_clusters):
        inside = np.asarray(x[labels == k].mean(axis=0)).ravel()
        contrast = np.where(common, inside - overall, -np.inf)
        top = np.argsort(-contrast, kind="stable")[:n_words]
        described.append(", ".join(words[i].capitalize() for i in top))
    return described


def cluster_aptitude_set(
    outcomes: pd.DataFrame,
    models: list[str],
    n_tasks: int = 20,
    n_per_task: int = 10,
    seed: int = 0,
    embedder: Embedder | None = None,
    sampling: Sampling = "representative",
) -> AptitudeSet:
    """Core tasks from k-means clusters of the train queries, `n_per_task` questions each (by `sampling`).

    Tasks are named `cluster/NN`, numbered by their first question id, so the result does not depend on
    k-means' label order. A cluster smaller than `n_per_task` keeps all its questions.

    Raises:
        DataError: when fewer than `n_tasks` train queries were answered by every model.
    """
    weights, texts = _eligible(outcomes, models, n_tasks)
    vectors = _embed(texts, embedder)
    labels = _kmeans(vectors, n_tasks, seed)
    descriptions = cluster_keywords(texts, labels, n_tasks)
    tasks = pick_clusters(weights, labels, descriptions, n_per_task, sampling, np.random.default_rng(seed))
    core = tuple(CoreTask(f"cluster/{i:02d}", description, ids) for i, (description, ids) in enumerate(tasks))
    return AptitudeSet(tasks=core, zoo=tuple(models), seed=seed)


def task_aptitude_set(
    outcomes: pd.DataFrame,
    models: list[str],
    n_tasks: int = 20,
    n_per_task: int = 10,
    seed: int = 0,
    embedder: Embedder | None = None,
    sampling: Sampling = "representative",
) -> AptitudeSet:
    """Core tasks per outcomes task: each task's train queries clustered into its share of `n_tasks`.

    Tasks are named `<task>/NN` (a task with one share keeps its own name) and described by the task's
    keywords followed by the cluster's; each keeps `n_per_task` questions picked by `sampling`.

    Raises:
        DataError: when fewer train queries than `n_tasks` were answered by every model, or more tasks than
            `n_tasks` have eligible questions.
    """
    weights, texts = _eligible(outcomes, models, n_tasks)
    shares = task_shares(weights["task"].value_counts(), n_tasks)
    vectors = _embed(texts, embedder)
    rng = np.random.default_rng(seed)
    core = []
    for task, k in sorted(shares.items()):
        inside = (weights["task"] == task).to_numpy()
        if k == 1:
            labels, descriptions = np.zeros(int(inside.sum()), dtype=int), [task_description(task)]
        else:
            labels = _kmeans(vectors[inside], k, seed)
            keywords = cluster_keywords([t for t, keep in zip(texts, inside, strict=True) if keep], labels, k)
            descriptions = [f"{task_description(task)}: {words}" for words in keywords]
        clusters = pick_clusters(weights[inside], labels, descriptions, n_per_task, sampling, rng)
        names = [task] if k == 1 else [f"{task}/{i:02d}" for i in range(k)]
        core += [CoreTask(name, description, ids) for name, (description, ids) in zip(names, clusters, strict=True)]
    return AptitudeSet(tasks=tuple(core), zoo=tuple(models), seed=seed)


def pick_clusters(
    weights: pd.DataFrame,
    labels: np.ndarray,
    descriptions: list[str],
    n_per_task: int,
    sampling: Sampling,
    rng: np.random.Generator,
) -> list[tuple[str, tuple[str, ...]]]:
    """(description, question ids) of each cluster of `labels`, `n_per_task` questions picked by `sampling`, in
    the order of their first question id (so the result does not depend on k-means' label order)."""
    clusters = []
    for k, description in enumerate(descriptions):
        members = pick_questions(weights[labels == k], n_per_task, sampling, rng)
        clusters.append((description, tuple(members.index)))
    return sorted(clusters, key=lambda item: min(item[1]))


def task_shares(sizes: pd.Series, n_tasks: int) -> dict[str, int]:
    """Core tasks per outcomes task: ∝ √size by largest remainder, at least one each, summing to `n_tasks`.

    Raises:
        DataError: when there are more tasks than `n_tasks`.
    """
    if len(sizes) > n_tasks:
        raise DataError(f"{len(sizes)} tasks have eligible questions, more than the {n_tasks} core tasks asked for")
    root = np.sqrt(sizes.to_numpy(dtype=float))
    extra = (n_tasks - len(sizes)) * root / root.sum()
    shares = 1 + np.floor(extra).astype(int)
    order = np.argsort(-(extra - np.floor(extra)), kind="stable")
    shares[order[: n_tasks - shares.sum()]] += 1
    shares = np.minimum(shares, sizes.to_numpy())
    return {str(task): int(k) for task, k in zip(sizes.index, shares, strict=True)}


def _eligible(outcomes: pd.DataFrame, models: list[str], n_tasks: int) -> tuple[pd.DataFrame, list[str]]:
    """`question_weights` of the train queries every model answered, and their texts without shared prefixes."""
    n_models = outcomes["model"].nunique()
    answered_by_all = outcomes.groupby("query_id")["model"].nunique()
    eligible = answered_by_all.index[answered_by_all == n_models]
    eligible = eligible[eligible.isin(split_outcomes(outcomes, "train")["query_id"].unique())]
    weights = question_weights(outcomes[outcomes["query_id"].isin(eligible)], models)
    if len(weights) < n_tasks:
        raise DataError(
            f"only {len(weights)} train queries were answered by all {n_models} model(s); "
            f"cannot form {n_tasks} clustered core tasks"
        )
    queries = outcomes.drop_duplicates("query_id").set_index("query_id").loc[weights.index]
    return weights, strip_shared_prefix(queries["prompt"].astype(str), queries["task"].astype(str)).tolist()


def _embed(texts: list[str], embedder: Embedder | None) -> np.ndarray:
    """Vectors of `texts` (cached MiniLM by default)."""
    if embedder is None:
        from modelsat.baselines.embeddings import CachedEmbedder

        embedder = CachedEmbedder()
    return np.asarray(embedder(texts), dtype=np.float64)


def _kmeans(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Seeded k-means labels."""
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=10, random_state=seed).fit_predict(vectors)
