"""Zero-shot routers that know each model only by its aptitude answers: the fair peers of Model-SAT for
models it never trained on (a new model brings nothing else).

- `card-lookup`: the card's accuracy on the query's subject (MMLU task); else its mean over the card's
  tasks in the query's MMLU-Pro category; else the card's mean.
- `uniroute`: UniRoute's cluster router (Jitkrittum et al., "Universal Model Routing for Efficient LLM
  Inference", ICLR 2026): K-means over the embeddings of (unlabelled) training queries; each model is the
  vector of its accuracies on the aptitude questions that fall in each cluster; a query goes to the model
  with the best accuracy in its nearest cluster. Train labels are never read.

Both take `aptitude`: the zoo's outcome rows on the aptitude questions (long format), which `evaluate`
passes to every baseline that asks for it.

Example:
    router = CardLookupRouter(aptitude=aptitude_rows).fit(train_rows, models)
    router.score(test_queries, models)
"""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from modelsat.baselines.common import EmbeddingRouter, model_accuracy, outcome_matrix
from modelsat.baselines.per_task import PerCategoryRouter, PerTaskRouter
from modelsat.errors import ConfigError


def aptitude_rows_for(aptitude: pd.DataFrame | None, models: Sequence[str], name: str) -> pd.DataFrame:
    """The aptitude rows of `models`, or a `ConfigError` naming what is missing."""
    if aptitude is None or aptitude.empty:
        raise ConfigError(f"{name} reads the models' aptitude answers: pass --router DIR or --aptitude FILE")
    missing = sorted(set(models) - set(aptitude["model"]))
    if missing:
        raise ConfigError(f"{name}: no aptitude answers for {', '.join(missing)}")
    return aptitude[aptitude["model"].isin(list(models))]


class CardLookupRouter:
    """Each query's score for a model is that model's card entry for the query's subject (or category)."""

    name = "card-lookup"
    reads_aptitude = True

    def __init__(self, aptitude: pd.DataFrame | None = None) -> None:
        self.aptitude = aptitude
        self.by_task = PerTaskRouter()
        self.by_category = PerCategoryRouter()

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "CardLookupRouter":
        """Read the cards: per-task, per-category and overall aptitude accuracy (`train` is not used)."""
        rows = aptitude_rows_for(self.aptitude, models, self.name)
        self.by_task.fit(rows, models)
        self.by_category.fit(rows, models)
        return self

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """Subject entry, else category mean, else card mean (+ a tiny multiple of the card mean for ties)."""
        subject = self.by_task.score(queries, models)
        category = self.by_category.score(queries, models)
        tasks = queries["task"].astype(str) if "task" in queries else pd.Series([""] * len(queries))
        known = tasks.isin(list(self.by_task.by_label)).to_numpy()
        return np.where(known[:, None], subject, category)


class UniRouteRouter(EmbeddingRouter):
    """K-means clusters of training prompts; models as per-cluster aptitude accuracies; nearest cluster routes.

    A cluster holding few aptitude questions is shrunk toward the model's overall aptitude accuracy with
    `prior_strength` pseudo-questions (0 = the raw per-cluster accuracy, as in the paper).
    """

    name = "uniroute"
    reads_aptitude = True

    def __init__(
        self,
        n_clusters: int = 20,
        prior_strength: float = 2.0,
        seed: int = 0,
        aptitude: pd.DataFrame | None = None,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        super().__init__(seed=seed, embedder=embedder)
        self.n_clusters, self.prior_strength, self.aptitude = n_clusters, prior_strength, aptitude

    def fit(self, train: pd.DataFrame, models: Sequence[str]) -> "UniRouteRouter":
        """Cluster the train prompts (their outcomes unread) and profile each model on its aptitude answers."""
        from sklearn.cluster import KMeans

        rows = aptitude_rows_for(self.aptitude, models, self.name)
        prompts = train.drop_duplicates("query_id")["prompt"].tolist()
        k = min(self.n_clusters, len(prompts))
        self.kmeans = KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit(self.embed(prompts))
        questions, y = outcome_matrix(rows, models)
        cluster = self.kmeans.predict(self.embed(questions["prompt"].tolist()))
        overall = model_accuracy(y)
        self.table = np.tile(overall, (k, 1))
        for c in range(k):
            answered = y[cluster == c]
            n = (~np.isnan(answered)).sum(axis=0)
            self.table[c] = (np.nansum(answered, axis=0) + self.prior_strength * overall) / (n + self.prior_strength)
        self.table += 1e-6 * overall  # ties go to the card-best model
        self.models = list(models)
        return self

    def score(self, queries: pd.DataFrame, models: Sequence[str]) -> np.ndarray:
        """The nearest cluster's per-model aptitude accuracy."""
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ValueError(f"{self.name} has no card for {', '.join(unknown)}")
        cluster = self.kmeans.predict(self.embed(queries["prompt"].tolist()))
        return self.table[cluster][:, [self.models.index(m) for m in models]]
