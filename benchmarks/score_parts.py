"""Which part of a trained router decides: routed accuracy from the LLM's log-odds alone, from the
card-readout head alone (`router.prior_head`), and from their sum (the router's score), on test queries.

    .venv/bin/python benchmarks/score_parts.py --router routers/default --zoo small-5 [--n 600]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from modelsat.aptitude.selection import AptitudeSet
from modelsat.data.schema import read_outcomes
from modelsat.data.zoos import resolve_zoo
from modelsat.evaluation.dataset import build_eval_set
from modelsat.router.inference import autocast
from modelsat.router.service import load_router


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--router", type=Path, default=Path("routers/default"))
    parser.add_argument("--outcomes", type=Path, default=Path("out/mmlu.parquet"))
    parser.add_argument("--zoo", default="small-5")
    parser.add_argument("--n", type=int, default=600, help="random test queries")
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    service = load_router(args.router)
    net = service.net
    outcomes = read_outcomes(args.outcomes)
    models = resolve_zoo(outcomes["model"].unique(), zoo=args.zoo)
    aptitude_ids = AptitudeSet.load(args.router / "aptitude.json").query_ids
    data = build_eval_set(outcomes, models, aptitude_ids, args.n, seed=0)
    cards = [service.cards[m] for m in models]
    prompts = data.queries["prompt"].astype(str).tolist()
    llm_part, head_part = [], []
    with torch.no_grad(), autocast(net.device, service.bf16):
        for start in tqdm(range(0, len(prompts), args.batch), desc="score"):
            batch = prompts[start : start + args.batch]
            caps = net.capability_tokens(cards, instructions=batch if net.cfg.instruction_pooling else None)
            ids, mask = net.prefixes(batch)
            total = net.fast_score_tokens(ids, mask, caps).float()
            head = torch.as_tensor(net.capability.prior_scores(caps), dtype=torch.float32).expand_as(total)
            llm_part.append((total - head).cpu().numpy())
            head_part.append(head.cpu().numpy())
    llm, head = np.concatenate(llm_part), np.concatenate(head_part)
    rows = np.arange(len(prompts))

    def routed(scores: np.ndarray) -> float:
        return round(100 * float(data.y[rows, scores.argmax(axis=1)].mean()), 2)

    result = {"queries": len(prompts), "zoo": args.zoo, "llm_only": routed(llm), "head_only": routed(head)}
    result |= {"router": routed(llm + head), "best_single_on_these": round(100 * float(data.y.mean(0).max()), 2)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
