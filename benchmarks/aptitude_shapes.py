"""Does the shape of the aptitude test limit routing to new models? For each shape (core MMLU subjects
× questions per task, MMLU-Pro's own categories always added), select the test on the router's training
zoo, make every zoo model's card from it, and route the remaining test queries with the router's
accuracy readout alone (its task prototypes remade for that test, its temperature and weight) and with
`card-lookup`, with and without the `--holdout` models. No retraining: in the fold routers the readout
decides (benchmarks/score_parts.py), so this measures what the cards can tell. The router must be trained on
MMLU-Pro alone, as the retired fold (c) router was (restored as `routers/mmlu-pro-fold-c`,
docs/one-router.md#the-retired-mmlu-pro-routers).

    .venv/bin/python benchmarks/aptitude_shapes.py --router routers/mmlu-pro-fold-c --zoo all \
        --holdout Phi-3-mini-4k-instruct,DeepSeek-Coder-V2,... --shapes 50x20,30x30,20x40,20x60
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.baselines.zero_shot import CardLookupRouter
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import parse_models, resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.prototypes import aptitude_prototypes
from modelsat.router.routing.service import load_router
from modelsat.router.routing.untested import card_accuracies


class EmbeddingCache:
    """The router encoder's embedding of each query id's routing text, computed once."""

    def __init__(self, service, prompts: dict[str, str]) -> None:
        self.service = service
        self.prompts = prompts
        self.vectors: dict[str, torch.Tensor] = {}

    def __call__(self, ids: list[str]) -> torch.Tensor:
        missing = [q for q in dict.fromkeys(ids) if q not in self.vectors]
        texts = self.service.reader.texts([self.prompts[q] for q in missing])
        with torch.no_grad():
            for start in tqdm(range(0, len(missing), 64), desc="embed", disable=not missing):
                batch = self.service.scorer.net.capability.embed_texts(texts[start : start + 64]).float().cpu()
                self.vectors.update(zip(missing[start : start + 64], batch, strict=True))
        return torch.stack([self.vectors[q] for q in ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, required=True, help="a router trained on MMLU-Pro alone")
    parser.add_argument("--outcomes", type=Path, default=Path("out/mmlu.parquet"))
    parser.add_argument("--zoo", default=None)
    parser.add_argument("--models", default=None)
    parser.add_argument("--holdout", required=True, help="zoo models the router never trained on")
    parser.add_argument("--shapes", default="50x20,30x30,20x40,20x60", help="MMLU subjects x questions per task")
    args = parser.parse_args()
    service = load_router(args.router, calibrated=False, mode="full")
    readout = service.scorer.net.capability.readout
    if readout is None:
        raise SystemExit(f"{args.router} has no accuracy readout (router.accuracy_readout)")
    meta = read_router_config(args.router)[1]
    outcomes = read_outcomes(args.outcomes)
    models = resolve_zoo(
        outcomes["model"].unique(), zoo=args.zoo or (None if args.models else "all"), models=args.models
    )
    new = parse_models(args.holdout)
    kept = np.array([m not in new for m in models])
    prompts = dict(zip(outcomes["query_id"], outcomes["prompt"].astype(str), strict=True))
    embed = EmbeddingCache(service, prompts)
    rows = []
    for shape in args.shapes.split(","):
        n_tasks, per_task = (int(x) for x in shape.split("x"))
        aptitude = select_aptitude_set(outcomes, list(meta["zoo"]), n_tasks, per_task, other_tasks=True)
        data = build_eval_set(outcomes, models, aptitude.query_ids)
        cards = build_cards(outcomes, aptitude, models)
        prototypes = aptitude_prototypes(service.scorer.embed_texts, aptitude, outcomes, service.reader)
        keys = torch.stack([prototypes[t.name] for t in aptitude.tasks]).float()  # (T, D)
        accuracy = card_accuracies([cards[m] for m in models])
        with torch.no_grad():
            instructions = embed(data.queries["query_id"].astype(str).tolist())
            scores = {
                "readout": readout(
                    instructions, keys.expand(len(models), -1, -1), accuracy, torch.zeros_like(accuracy)
                ).numpy(),
                "card-lookup": CardLookupRouter(aptitude=data.aptitude_rows)
                .fit(data.train, models)
                .score(data.queries, models),
            }
        n = np.arange(len(data.y))
        for method, s in scores.items():
            with_new = 100 * data.y[n, s.argmax(1)].mean()
            without = 100 * data.y[n, np.where(kept[None, :], s, -np.inf).argmax(1)].mean()
            own = " (the router's own)" if aptitude.fingerprint == meta["aptitude_fingerprint"] else ""
            rows.append(
                f"| {len(aptitude.tasks)} x {per_task}{own} | {len(aptitude.query_ids)} | {len(data.y)} | "
                f"{100 * data.y.mean(0).max():.1f} | {method} | {with_new:.1f} | {without:.1f} | "
                f"{with_new - without:+.1f} |"
            )
    print(
        "| tasks x questions | aptitude questions | test queries | best single | method | with new | without | gain |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
