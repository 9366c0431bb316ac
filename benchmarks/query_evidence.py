"""Query-level evidence on validation: does a model's record on the aptitude questions nearest a request add to its
card's per-task accuracies?

Every model took the same aptitude questions. For each validation query of a router's training zoos this takes the
k aptitude questions nearest it (cosine of the router's encoder embeddings), weighs them by exp(similarity / τ), and
reads each model's share right on those it answered; the router's fast-mode score (its stored readout) plus β times
that share, centred over the candidates, is routed among each zoo's own models. Nothing is fitted on the queries:
the grid of k and β is printed beside the router alone, per zoo, with the paired standard error of each gain.

Example:
    $ python benchmarks/query_evidence.py --router routers/default --outcomes out/all.parquet
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from modelsat.data.schema import read_outcomes
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.readout_choice import load_readout_choice, paired_standard_error, routed
from modelsat.router.routing.readout_validation import ValidationSet


def aptitude_answers(outcomes: pd.DataFrame, question_ids: list[str], models: list[str]) -> np.ndarray:
    """(A, N) each model's score on each aptitude question, NaN where it has none."""
    rows = outcomes[outcomes["query_id"].isin(question_ids) & outcomes["model"].isin(models)]
    table = rows.pivot_table(index="query_id", columns="model", values="score", aggfunc="mean")
    return table.reindex(index=question_ids, columns=models).to_numpy(dtype=float)


def nearest_share(similarity: np.ndarray, answers: np.ndarray, k: int, tau: float) -> np.ndarray:
    """(Q, N) each model's similarity-weighted share right on the k aptitude questions nearest each query (NaN: it
    answered none of them)."""
    top = np.argsort(-similarity, axis=1)[:, :k]
    weights = np.exp(np.take_along_axis(similarity, top, axis=1) / tau)
    answered = ~np.isnan(answers)
    right = np.einsum("qk,qkn->qn", weights, np.nan_to_num(answers)[top])
    asked = np.einsum("qk,qkn->qn", weights, answered[top].astype(float))
    return np.where(asked > 0, right / np.maximum(asked, 1e-12), np.nan)


def per_zoo(data: ValidationSet, scores: np.ndarray, base: np.ndarray) -> dict[str, tuple[float, float]]:
    """Zoo → (accuracy %, standard error of its gain over `base`), each zoo routed among its own models."""
    ours, theirs = routed(scores, data.y), routed(base, data.y)
    result = {}
    for zoo in dict.fromkeys(data.zoos):
        rows = data.zoos == zoo
        weights = data.weights[rows] / data.weights[rows].sum()
        result[str(zoo)] = (
            100.0 * float(ours[rows] @ weights),
            paired_standard_error(ours[rows] - theirs[rows], weights),
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--router", type=Path, required=True)
    parser.add_argument("--outcomes", type=Path, required=True)
    parser.add_argument("--k", default="10,30,100", help="Nearest aptitude questions, comma-separated.")
    parser.add_argument("--beta", default="0.5,1,2,4", help="Weights of the evidence, comma-separated.")
    parser.add_argument("--tau", type=float, default=0.05, help="Temperature of the similarity weights.")
    args = parser.parse_args()

    outcomes = read_outcomes(args.outcomes)
    data = ValidationSet.build(args.router, outcomes)
    base = data.scores(load_readout_choice(args.router))  # what the router routes with today
    aptitude = RouterFolder.read(args.router).aptitude
    ids = [q for task in aptitude.tasks for q in task.query_ids]
    answers = aptitude_answers(outcomes, ids, [card.model for card in data.cards])
    queries = torch.nn.functional.normalize(data.embedded.float(), dim=1).numpy()
    questions = data.aptitude_embedded / np.linalg.norm(data.aptitude_embedded, axis=1, keepdims=True)
    similarity = queries @ questions.T

    zoos = [str(z) for z in dict.fromkeys(data.zoos)]
    table = Table(title=f"{args.router}: validation accuracy (%) among each zoo's own models, ± s.e. of the gain")
    for column in ("k", "β", *zoos):
        table.add_column(column, justify="right")
    alone = per_zoo(data, base, base)
    table.add_row("router alone", "", *(f"{alone[z][0]:.2f}" for z in zoos))
    for k in map(int, args.k.split(",")):
        share = nearest_share(similarity, answers, k, args.tau)
        centred = np.nan_to_num(share - np.nanmean(share, axis=1, keepdims=True), nan=-1.0)
        for beta in map(float, args.beta.split(",")):
            got = per_zoo(data, base + beta * centred, base)
            table.add_row(str(k), f"{beta:g}", *(f"{got[z][0]:.2f} ± {got[z][1]:.2f}" for z in zoos))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
