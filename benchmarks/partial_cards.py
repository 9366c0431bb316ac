"""How the accuracy readout should read a partial card's untested entries, measured on real validation outcomes.

A shipped router's training-zoo cards are made partial by a seeded mask (per model, `--kinds` of its kinds of
request not tested; on a card of one kind, such as MMLU-Pro's, a `--share` of its tasks), and every rule of
reading the untested entries routes the router's validation queries in fast mode:

    zero          an untested entry reads as accuracy 0
    own-mean      as the model's mean over its tested entries (the silent average)
    renormalise   the request's weights renormalised over the tested tasks; coverage ignored
    peer-δ        as the mean accuracy of the candidates tested on the task, less δ
    kind-δ        as the model's mean over its tested tasks of the same kind, less δ, else as peer-δ: the rule
                  routing applies (`router/routing/untested.py`, δ = `router.untested_margin`)

It prints, per rule, routed accuracy (%, mean over seeds; `full` is the unmasked cards) and `tested-first`: over
pairs of a model tested on the request's kind (task, on a card of one kind) and one not, where exactly one answered
right, the share where the right one scores higher (ties half).

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 19 python benchmarks/partial_cards.py routers/specialists \\
        out/specialists.parquet --kinds 1 --seeds 20

`--write-cards FILE` writes the router's cards as seed 0 masks them (for `modelsat evaluate --cards FILE`).
"""

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from modelsat.aptitude.cards import Card, TaskScore, load_cards, save_cards
from modelsat.data.kinds import kind_of
from modelsat.data.schema import read_outcomes
from modelsat.evaluation.metrics import declares_domains, task_weights
from modelsat.models.loading import load_tokenizer
from modelsat.router.routing.capability import card_slots, readout_inputs
from modelsat.router.routing.fast import FastScorer
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.readout_choice import routed_accuracy
from modelsat.router.routing.readout_validation import embed
from modelsat.router.routing.routing_text import RoutingTextReader
from modelsat.router.routing.untested import card_accuracies, fill_untested
from modelsat.router.training.training_data import ScoreMatrix

MARGINS = (0.0, 0.02, 0.05, 0.1)


def entry_group(score: TaskScore, by_kind: bool) -> str:
    """What a mask drops together: the entry's kind of request, or its task on a card of one kind."""
    return str(score.kind) if by_kind else score.task


def mask_cards(cards: list[Card], rng: np.random.Generator, n_kinds: int, share: float, by_kind: bool) -> list[Card]:
    """Per card, `n_kinds` of its kinds not tested, or (`by_kind` False) a `share` of its tasks; one group kept."""
    out = []
    for card in cards:
        groups = sorted({entry_group(s, by_kind) for s in card.scores})
        n_drop = min(n_kinds, len(groups) - 1) if by_kind else int(round(share * len(groups)))
        dropped = set(rng.choice(groups, size=n_drop, replace=False))
        scores = [
            TaskScore(s.task, s.description, None, s.kind) if entry_group(s, by_kind) in dropped else s
            for s in card.scores
        ]
        out.append(replace(card, scores=scores))
    return out


def request_weights(scorer: FastScorer, embedded: torch.Tensor, keys: torch.Tensor, prior: torch.Tensor):
    """(Q, N, C) the readout's weights of each request over each card's slots."""
    readout = scorer.capability.readout
    if readout.groups is not None:
        return torch.einsum("bg,ncg->bnc", readout.groups(embedded), keys.float())
    return readout.similarity_weights(embedded, keys, prior)


def rule_scores(scorer, embedded, cards, rule: str) -> np.ndarray:
    """(Q, N) readout log-odds of `cards` with their untested entries read by `rule`."""
    side = scorer.prepare(cards)
    readout = scorer.capability.readout
    raw = card_accuracies(cards)
    raw = torch.cat([raw, torch.zeros(len(cards), card_slots(cards) - raw.shape[1])], dim=1)  # (N, T) -> (N, C)
    untested = raw.isnan()
    with torch.no_grad():
        if rule.startswith("kind-"):  # what routing reads
            accuracy, _ = readout_inputs(cards, raw.shape[1], scorer.device, float(rule.removeprefix("kind-")))
            return readout(embedded, side.keys, accuracy, side.prior).numpy()
        if rule.startswith("peer-"):  # every task a kind of its own: the peers' mean, never the model's own
            tasks = [s.task for s in cards[0].scores]
            filled = fill_untested(card_accuracies(cards), float(rule.removeprefix("peer-")), tasks)
            accuracy = torch.cat([filled, raw[:, filled.shape[1] :]], dim=1)
            return readout(embedded, side.keys, accuracy, side.prior).numpy()
        if rule == "renormalise":
            w = request_weights(scorer, embedded, side.keys, side.prior) * (~untested).float()
            pooled = (w * raw.nan_to_num(0.0)).sum(-1) / w.sum(-1).clamp(min=1e-9)
            return (readout.weight * torch.logit(pooled.clamp(0.01, 0.99))).numpy()
        fill = torch.zeros_like(raw) if rule == "zero" else torch.tensor([[c.mean_accuracy] for c in cards])
        accuracy = torch.where(untested, fill.expand_as(raw), raw)
        return readout(embedded, side.keys, accuracy, side.prior).numpy()


def tested_first(scores: np.ndarray, y: np.ndarray, tested: np.ndarray) -> tuple[float, int]:
    """Share of (tested, untested) model pairs on a request with exactly one right where the right one scores
    higher (ties half), and the number of such pairs. `tested`: (Q, N) whether model n was tested on the request."""
    wins = total = 0.0
    for a in range(y.shape[1]):
        for b in range(y.shape[1]):
            pair = tested[:, a] & ~tested[:, b] & (y[:, a] != y[:, b])
            if not pair.any():
                continue
            right_a = y[pair, a] > y[pair, b]
            diff = scores[pair, a] - scores[pair, b]
            correct = np.where(right_a, diff > 0, diff < 0) + 0.5 * (diff == 0)
            wins += correct.sum()
            total += pair.sum()
    return 100.0 * wins / max(total, 1), int(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("router", type=Path)
    parser.add_argument("outcomes", type=Path)
    parser.add_argument("--kinds", type=int, default=1, help="Kinds not tested per card (cards of several kinds).")
    parser.add_argument("--share", type=float, default=0.3, help="Share of tasks not tested (cards of one kind).")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--tasks", action="store_true", help="Mask a --share of tasks even on cards of several kinds.")
    parser.add_argument("--write-cards", type=Path, help="Write the router's cards masked by seed 0 here, then stop.")
    args = parser.parse_args()
    if args.write_cards:
        cards = list(load_cards(args.router / "cards.json").values())
        by_kind = len({s.kind for s in cards[0].scores}) > 1 and not args.tasks
        masked = mask_cards(cards, np.random.default_rng(0), args.kinds, args.share, by_kind)
        save_cards({card.model: card for card in masked}, args.write_cards)
        for card in masked:
            print(f"{card.model}: not tested: {', '.join(card.untested_entries())}")
        return

    outcomes = read_outcomes(args.outcomes)
    folder = RouterFolder.read(args.router)
    scorer = FastScorer.load(folder)
    cards_by_model = load_cards(args.router / "cards.json")
    zoo = [m for m in folder.meta.get("zoo", []) if m in cards_by_model]
    cards = [cards_by_model[m] for m in zoo]
    matrix = ScoreMatrix.from_outcomes(outcomes, zoo, "validation", exclude=folder.aptitude.query_ids)
    queries = outcomes.drop_duplicates("query_id").set_index("query_id").loc[matrix.query_ids].reset_index()
    weights = task_weights(queries)["all"] if declares_domains(queries) else np.full(len(queries), 1 / len(queries))
    reader = RoutingTextReader.for_router(load_tokenizer(folder.config.router.llm), folder.config.router)
    embedded = torch.from_numpy(embed(scorer, reader.texts(matrix.prompts)))
    by_kind = len({s.kind for s in cards[0].scores}) > 1 and not args.tasks
    request_group = [str(kind_of(t)) if by_kind else t for t in queries["task"].astype(str)]
    rules = ["zero", "own-mean", "renormalise"] + [f"{rule}-{m:g}" for rule in ("peer", "kind") for m in MARGINS]
    full = routed_accuracy(rule_scores(scorer, embedded, cards, "zero"), matrix.scores, weights)
    results: dict[str, list[tuple[float, float]]] = {rule: [] for rule in rules}
    pairs = []
    for seed in range(args.seeds):
        masked = mask_cards(cards, np.random.default_rng(seed), args.kinds, args.share, by_kind)
        groups_tested = [{entry_group(s, by_kind) for s in c.scores if s.tested} for c in masked]
        tested = np.array([[g in own for own in groups_tested] for g in request_group])  # (Q, N)
        for rule in rules:
            scores = rule_scores(scorer, embedded, masked, rule)
            first, n_pairs = tested_first(scores, matrix.scores, tested)
            results[rule].append((routed_accuracy(scores, matrix.scores, weights), first))
        pairs.append(n_pairs)
    print(f"{args.router}: {len(queries)} validation queries x {len(zoo)} models, {args.seeds} seeds, "
          f"{'kinds' if by_kind else 'share'} masked = {args.kinds if by_kind else args.share}; "
          f"full cards route {full:.2f} %; {np.mean(pairs):.0f} tested/untested pairs per seed")  # fmt: skip
    print(f"{'rule':<12} {'routed %':>9} {'± se':>6} {'tested-first %':>15}")
    for rule, rows in results.items():
        acc, first = np.array(rows).T
        print(f"{rule:<12} {acc.mean():9.2f} {acc.std(ddof=1) / np.sqrt(len(acc)):6.2f} {first.mean():15.1f}")


if __name__ == "__main__":
    main()
