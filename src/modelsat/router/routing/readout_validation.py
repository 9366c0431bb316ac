"""The validation queries a router's readout is chosen on (`readout_choice.py`), scored in fast mode.

The queries are the validation split of the router's training zoo (its config's `meta.zoo`: the models it held out
join by card and lend no labels), answered by every one of those models, the aptitude questions excluded; a router
trained on several zoos is validated on each zoo's queries among that zoo's models, the zoos weighing the same, as
it was trained (`training/zoo_blocks.py`). Each
candidate readout is scored by the fast scorer that routes with it, so what is chosen is what ships.

Example:
    data = ValidationSet.build(Path("routers/specialists"), read_outcomes("out/specialists.parquet"))
    accuracy = routed_accuracy(data.scores(candidate), data.y, data.weights)
"""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console

from modelsat.aptitude.cards import Card, load_cards
from modelsat.errors import RouterError
from modelsat.evaluation.metrics import declares_domains, task_weights
from modelsat.router.routing.capability import AccuracyReadout
from modelsat.router.routing.fast import FastScorer
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.readout_choice import ReadoutChoice
from modelsat.router.routing.routing_text import RoutingTextReader
from modelsat.router.training.training_data import ScoreMatrix, zoo_matrices
from modelsat.router.training.zoo_blocks import leaked_query_ids

err = Console(stderr=True)


@dataclass
class ValidationSet:
    """Validation texts (embedded), outcomes and query weights, the aptitude questions' embeddings and tasks, and the
    trained scorer."""

    scorer: FastScorer
    trained_readout: AccuracyReadout
    cards: list[Card]
    embedded: torch.Tensor  # (Q, D_enc) the validation texts through the router's encoder
    y: np.ndarray  # (Q, N) scores of the training zoo
    weights: np.ndarray  # (Q,) task-averaged where the data declares its domains, else uniform
    aptitude_embedded: np.ndarray  # (A, D_enc)
    aptitude_tasks: list[str]  # per aptitude question, its core task
    aptitude_kinds: list[str | None]  # per aptitude question, its core task's kind of request
    zoos: np.ndarray  # (Q,) each validation query's zoo

    @property
    def trained_temperature(self) -> float:
        """The readout temperature the router was trained with."""
        return float(self.trained_readout.log_temperature.detach().exp())

    @classmethod
    def build(cls, router_dir: Path, outcomes: pd.DataFrame, progress: bool = True) -> "ValidationSet":
        """Validation queries of the router's training zoo in `outcomes`, and the router's trained fast scorer.

        Raises:
            RouterError: the router has no accuracy readout, or no card for a training model.
            DataError: no validation query answered by every training model.
        """
        from modelsat.models.loading import load_tokenizer

        folder = RouterFolder.read(router_dir, stored_readout=False, calibrations=False)  # the readout as trained
        cfg, aptitude = folder.config, folder.aptitude
        if not cfg.router.accuracy_readout:
            raise RouterError(f"{router_dir}: this router has no accuracy readout to choose")
        cards = load_cards(router_dir / "cards.json")
        zoo = [m for m in folder.meta.get("zoo", []) if m in cards]
        if len(zoo) < 2:
            raise RouterError(f"{router_dir}: its config names fewer than two training models with cards")
        exclude = set(aptitude.query_ids) | leaked_query_ids(outcomes)
        by_query = outcomes.drop_duplicates("query_id").set_index("query_id")
        matrices = zoo_matrices(outcomes, zoo, "validation", exclude, folder.meta.get("zoos"))
        matrix, weights = validation_matrix(matrices, zoo, by_query)
        reader = RoutingTextReader.for_router(load_tokenizer(cfg.router.llm), cfg.router)
        scorer = FastScorer.load(folder)
        assert scorer.capability.readout is not None
        prompts = by_query["prompt"].astype(str)
        aptitude_ids = [q for task in aptitude.tasks for q in task.query_ids]
        if progress:
            err.print(f"choosing the readout on {len(weights):,} validation queries × {len(zoo)} models")
        aptitude_embedded = embed(scorer, reader.texts(prompts.loc[aptitude_ids].tolist()))
        return cls(
            scorer=scorer,
            trained_readout=copy.deepcopy(scorer.capability.readout),
            cards=[cards[m] for m in zoo],
            embedded=torch.from_numpy(embed(scorer, reader.texts(matrix.prompts))),
            y=matrix.scores,
            weights=weights,
            aptitude_embedded=aptitude_embedded,
            aptitude_tasks=[task.name for task in aptitude.tasks for _ in task.query_ids],
            aptitude_kinds=[task.kind for task in aptitude.tasks for _ in task.query_ids],
            zoos=np.array([zoo for zoo, m in matrices.items() for _ in m.prompts]),
        )

    def scores(self, candidate: ReadoutChoice) -> np.ndarray:
        """(Q, N) fast-mode scores of the validation texts with `candidate` as the router's readout."""
        capability = self.scorer.capability
        capability.readout = copy.deepcopy(self.trained_readout)
        scorer = FastScorer(capability, self.scorer.cfg, self.scorer.prototypes, candidate)
        return scorer.scores_embedded(self.embedded, scorer.prepare(self.cards), len(self.cards))


def validation_matrix(
    matrices: dict[str, ScoreMatrix], models: list[str], by_query: pd.DataFrame
) -> tuple[ScoreMatrix, np.ndarray]:
    """One (Q, N) matrix of `models` from one dense matrix per zoo, NaN where a model did not answer a query's zoo,
    and (Q,) query weights: within a zoo task-averaged where its data declares domains, else uniform; each zoo
    weighs the same."""
    column = {m: i for i, m in enumerate(models)}
    scores, weights = [], []
    for matrix in matrices.values():
        block = np.full((len(matrix.prompts), len(models)), np.nan)
        block[:, [column[m] for m in matrix.models]] = matrix.scores
        queries = by_query.loc[matrix.query_ids].reset_index()
        within = task_weights(queries)["all"] if declares_domains(queries) else np.full(len(queries), 1 / len(queries))
        scores.append(block)
        weights.append(within / len(matrices))
    ids = np.concatenate([m.query_ids for m in matrices.values()])
    prompts = [p for m in matrices.values() for p in m.prompts]
    return ScoreMatrix(ids, prompts, np.concatenate(scores), models), np.concatenate(weights)


def embed(scorer: FastScorer, texts: list[str]) -> np.ndarray:
    """(len(texts), D_enc) the texts through the router's encoder, 64 at a time."""
    with torch.no_grad():
        return torch.cat(
            [scorer.capability.embed_texts(texts[i : i + 64]).float() for i in range(0, len(texts), 64)]
        ).numpy()
