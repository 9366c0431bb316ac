"""Which part of a trained router decides: routed accuracy from the LLM's log-odds alone, from the
card-readout head (`router.prior_head`) alone, from the accuracy readout (`router.accuracy_readout`)
alone, and from their sum (the router's score), on test queries.

With `--holdout`, every row is given with and without the models the router never trained on (they
join by card), so it shows which part reads a new model's card. Readout variants re-weigh the same
cards without retraining: a sharper or softer task temperature, and task accuracies shrunk toward the
card's mean over the other tasks of the same MMLU-Pro category (`--shrink N`: N pseudo-questions, so
a 20-question task entry keeps 20/(20+N) of its own weight). `--llm-weights` routes with the LLM's
log-odds scaled by each factor β beside the rest of the score (β = 0 is the fast routing mode, β = 1 the
router as trained): whether the LLM's part carries per-instruction information a larger say would use.
On data that declares its domains (RouterDC's `specialists`), accuracies are task-averaged as that paper
reports them, over all tasks and per domain; there a dataset's core tasks (`mmlu/00`, `mmlu/01`, ...) make up
the category that `--shrink` shrinks toward. `--no-llm` skips the LLM's forward pass (the readout rows are
then fast mode's score), and `--split train` scores the train queries outside the aptitude test instead of the
test queries: a validation set on which to choose a variant before looking at the test. `--classifier C,...`
replaces the readout's similarity to task prototypes by a logistic regression (inverse regularisation C) fitted
on the aptitude questions' embeddings, each labelled with its category (its dataset, for `specialists`): a
card's accuracy on each category weighed by the request's posterior over them.

It reads full cards only (every aptitude task tested), as the routers trained on one zoo hold: a partial card is
refused. The MMLU-Pro rows of docs/generalisation.md are of the retired MMLU-Pro routers, restored as
`routers/mmlu-pro` and `routers/mmlu-pro-fold-c` (docs/one-router.md#the-retired-mmlu-pro-routers).

    .venv/bin/python benchmarks/score_parts.py --router routers/mmlu-pro --zoo small-5 [--n 600]
    .venv/bin/python benchmarks/score_parts.py --router routers/mmlu-pro-fold-c --zoo all --n 0 \
        --holdout Phi-3-mini-4k-instruct,DeepSeek-Coder-V2,... --temperatures 10,20,40 --shrink 20,40
    .venv/bin/python benchmarks/score_parts.py --router routers/specialists --outcomes out/specialists.parquet \
        --zoo specialists --n 0
    .venv/bin/python benchmarks/score_parts.py --router routers/specialists --outcomes out/specialists.parquet \
        --zoo specialists --n 0 --no-llm --split train --temperatures 9.36,20,40 --shrink 100,300,1000 \
        --classifier 10,30,100
"""

import argparse
import copy
import json
import math
from pathlib import Path

import numpy as np
import scipy.special
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from tqdm.auto import tqdm

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card
from modelsat.data.schema import read_outcomes
from modelsat.data.splits import split_outcomes
from modelsat.data.zoos import parse_models, resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.evaluation.metrics import declares_domains, task_weights
from modelsat.router.routing.llm.inference import autocast, card_clause_tokens
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.service import load_router


def score_parts(
    net: RouterNet, texts: list[str], cards: list[Card], batch: int, bf16: bool, with_llm: bool = True
) -> dict[str, np.ndarray]:
    """(Q, N) LLM log-odds, prior-head and accuracy-readout parts, and (Q, D_enc) instruction embeddings; without
    `with_llm` the LLM's forward pass is skipped (its part is 0: the fast routing mode's score)."""
    parts: dict[str, list[np.ndarray]] = {"llm": [], "head": [], "readout": [], "embedded": []}
    clause_tokens = card_clause_tokens(net, cards, bf16)[0]  # the card's own clause order
    with torch.no_grad(), autocast(net.device, bf16):
        for start in tqdm(range(0, len(texts), batch), desc="score"):
            chunk = texts[start : start + batch]
            embedded = net.capability.embed_texts(chunk).float() if net.reads_instruction_embedding else None
            caps = net.capability_tokens(cards, embedded=embedded, clause_tokens=clause_tokens)
            head = torch.as_tensor(net.capability.prior_scores(caps), dtype=torch.float32)
            if with_llm:
                total = net.fast_score_tokens(*net.prefixes(chunk), caps).float()
                head = head.expand_as(total)
            else:
                total = head = head.expand(len(chunk), len(cards))
            readout = torch.as_tensor(net.readout_scores(cards, embedded), dtype=torch.float32).expand_as(total)
            parts["llm"].append((total - head).cpu().numpy())
            parts["head"].append(head.cpu().numpy())
            parts["readout"].append(readout.cpu().numpy())
            if embedded is not None:
                parts["embedded"].append(embedded.cpu().numpy())
    return {name: np.concatenate(chunks) for name, chunks in parts.items() if chunks}


def shrunk_accuracies(cards: list[Card], category_of: dict[str, str], pseudo: float, per_task: int) -> np.ndarray:
    """(N, T) task accuracies, each shrunk toward its card's mean over the tasks of its category."""
    tasks = [s.task for s in cards[0].scores]
    acc = np.array([[s.accuracy for s in card.scores] for card in cards])
    categories = np.array([category_of.get(t, t) for t in tasks])
    same = (categories[:, None] == categories[None, :]).astype(float)
    category_mean = acc @ same / same.sum(axis=0)
    return (per_task * acc + pseudo * category_mean) / (per_task + pseudo)


def readout_variant(
    net: RouterNet, cards: list[Card], embedded: np.ndarray, accuracy: np.ndarray, temperature: float
) -> np.ndarray:
    """(Q, N) the router's own accuracy readout (its weight α) at another temperature, on other task accuracies."""
    readout = copy.deepcopy(net.capability.readout).cpu()
    readout.log_temperature.data.fill_(math.log(temperature))
    keys = net.readout_keys(cards)[:, : accuracy.shape[1]].float().cpu()  # (N, T, D): the task keys
    acc = torch.as_tensor(accuracy, dtype=torch.float32)
    with torch.no_grad():
        return readout(torch.as_tensor(embedded), keys, acc, torch.zeros_like(acc)).numpy()


def classifier_readout(
    aptitude_embedded: np.ndarray,
    aptitude_tasks: list[str],
    embedded: np.ndarray,
    cards: list[Card],
    category_of: dict[str, str],
    inverse_regularisation: float,
) -> np.ndarray:
    """(Q, N) each card's mean accuracy per category of its tasks, weighed by a logistic regression's posterior
    over the categories (fitted on the aptitude questions, labelled by their task's category)."""
    labels = [category_of.get(t, t) for t in aptitude_tasks]
    classifier = LogisticRegression(C=inverse_regularisation, max_iter=5000)
    classifier.fit(normalize(aptitude_embedded), labels)
    card_tasks = np.array([category_of.get(s.task, s.task) for s in cards[0].scores])
    accuracy = np.array([[s.accuracy for s in card.scores] for card in cards])  # (N, T)
    by_category = np.stack([accuracy[:, card_tasks == c].mean(1) for c in classifier.classes_], 1)  # (N, G)
    pooled = classifier.predict_proba(normalize(embedded)) @ by_category.T
    return scipy.special.logit(pooled.clip(0.01, 0.99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, required=True, help="a router with full cards")
    parser.add_argument("--outcomes", type=Path, default=Path("out/mmlu.parquet"))
    parser.add_argument("--zoo", default=None, help="named zoo (default small-5 unless --models)")
    parser.add_argument("--models", default=None, help="comma-separated zoo instead of --zoo")
    parser.add_argument("--holdout", default="", help="zoo models the router never trained on")
    parser.add_argument("--n", type=int, default=600, help="random test queries (0 = every test query)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--temperatures", default="", help="readout temperatures to try, e.g. 10,20,40")
    parser.add_argument("--shrink", default="", help="pseudo-question counts for category shrinkage, e.g. 20,40")
    parser.add_argument("--classifier", default="", help="task-classifier readouts to try: values of C, e.g. 10,30")
    parser.add_argument("--llm-weights", default="", help="factors β on the LLM's log-odds to try, e.g. 0.5,2,4")
    parser.add_argument("--no-llm", dest="llm", action="store_false", help="readout and prior head only (fast mode)")
    parser.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="queries scored: test, or train outside the aptitude test (a validation set to choose variants on)",
    )
    args = parser.parse_args()
    service = load_router(args.router, calibrated=False, mode="full")
    net = service.scorer.net
    outcomes = read_outcomes(args.outcomes)
    prompts = outcomes.drop_duplicates("query_id").set_index("query_id")["prompt"].astype(str)  # every split's
    if args.split == "train":  # the train queries take the test queries' place; the aptitude test stays excluded
        outcomes = split_outcomes(outcomes, "train").assign(split="test")
    models = resolve_zoo(
        outcomes["model"].unique(), zoo=args.zoo or (None if args.models else "small-5"), models=args.models
    )
    new = parse_models(args.holdout) if args.holdout else []
    aptitude = AptitudeSet.load(args.router / "aptitude.json")
    data = build_eval_set(outcomes, models, aptitude.query_ids, args.n or None, seed=0)
    cards = [service.cards[m] for m in models]
    partial = [card.model for card in cards if not all(s.tested for s in card.scores)]
    if partial:
        raise SystemExit(f"{args.router}: partial cards, not read here: {', '.join(partial)}")
    texts = service.reader.texts(data.queries["prompt"].astype(str).tolist())
    bf16 = service.scorer.bf16 and args.llm  # without the LLM, the encoder runs in fp32 as in fast mode
    parts = score_parts(net, texts, cards, args.batch, bf16, with_llm=args.llm)
    rows = np.arange(len(texts))
    kept = np.array([m not in new for m in models])
    by_task = declares_domains(data.queries)  # RouterDC's protocol
    all_weights = task_weights(data.queries) if by_task else {}
    weights = all_weights["all"] if by_task else np.full(len(texts), 1 / len(texts))
    domain_weights = {name: w for name, w in all_weights.items() if name != "all" and w.any()}

    def routed(scores: np.ndarray, mask: np.ndarray | None = None, over: np.ndarray = weights) -> float:
        """Routed accuracy (%): query-weighted, or task-averaged where the data declares its domains."""
        masked = scores if mask is None else np.where(mask[None, :], scores, -np.inf)
        return round(100 * float(data.y[rows, masked.argmax(axis=1)] @ over), 2)

    def row(scores: np.ndarray) -> dict[str, float]:
        with_new = routed(scores)
        if not new:
            return {"routed": with_new} | {name: routed(scores, over=w) for name, w in domain_weights.items()}
        without = routed(scores, kept)
        return {"with_new": with_new, "without_new": without, "gain": round(with_new - without, 2)}

    llm, head, readout = parts["llm"], parts["head"], parts["readout"]
    table = {"router": row(llm + head + readout), "llm_only": row(llm)} if args.llm else {}
    for beta in [float(b) for b in args.llm_weights.split(",") if b and args.llm]:
        table[f"router, LLM part x{beta:g}"] = row(beta * llm + head + readout)
    if net.capability.prior is not None:
        table["head_only"] = row(head)
    if net.capability.readout is not None:
        table["readout_only"] = row(readout)
        category_of = (
            dict(zip(outcomes["task"].astype(str), outcomes["category"].astype(str), strict=True))
            if "category" in outcomes
            else {s.task: s.task.rsplit("/", 1)[0] for s in cards[0].scores}  # a dataset's core tasks: "mmlu/02"
        )
        per_task = len(aptitude.tasks[0].query_ids)
        own_temperature = net.capability.readout.log_temperature.exp().item()
        temperatures = [float(t) for t in args.temperatures.split(",") if t] or [own_temperature]
        for pseudo in [0.0] + [float(s) for s in args.shrink.split(",") if s]:
            accuracy = shrunk_accuracies(cards, category_of, pseudo, per_task)
            for temperature in temperatures:
                variant = readout_variant(net, cards, parts["embedded"], accuracy, temperature)
                label = f"temperature {temperature:g}, shrink {pseudo:g}"
                table[f"readout_only ({label})"] = row(variant)
                if args.llm:
                    table[f"router ({label})"] = row(llm + head + variant)
        if args.classifier:
            aptitude_ids = [q for task in aptitude.tasks for q in task.query_ids]
            aptitude_tasks = [task.name for task in aptitude.tasks for _ in task.query_ids]
            aptitude_texts = service.reader.texts(prompts.loc[aptitude_ids].tolist())
            with torch.no_grad():
                aptitude_embedded = np.concatenate(
                    [
                        net.capability.embed_texts(aptitude_texts[i : i + 64]).float().cpu().numpy()
                        for i in range(0, len(aptitude_texts), 64)
                    ]
                )
            for value in [float(c) for c in args.classifier.split(",") if c]:
                variant = classifier_readout(
                    aptitude_embedded, aptitude_tasks, parts["embedded"], cards, category_of, value
                )
                table[f"readout_only (task classifier, C {value:g})"] = row(variant)
    best_single = round(100 * float((weights @ data.y).max()), 2)
    averaging = "task-averaged" if by_task else "query-weighted"
    print(
        json.dumps(
            {
                "queries": len(texts),
                "averaging": averaging,
                "models": models,
                "new": new,
                "best_single_on_these": best_single,
            }
        )
    )
    for name, figures in table.items():
        print(f"{name:48s} " + "  ".join(f"{k} {v:6.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
