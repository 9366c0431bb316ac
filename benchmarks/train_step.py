"""Training speed: a stage-1 step reading the prefix store vs one computing the prefixes afresh.

Prints, in one run, the median seconds of a full training step (forward, loss, backward) on real
MMLU-Pro train instructions and the `small` zoo's cards, for every card and for a subset, with fresh
prefixes (one frozen-LLM forward over the instructions per step) and with stored prefixes
(router/training/prefix_store.py); their ratio; the one-off cost of storing a prefix; and after how many
passes over the training instructions the store has paid for itself.

    .venv/bin/python benchmarks/train_step.py [--batch 32] [--subset 6] [--steps 5] [--bf16 auto|on|off]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.data.importers import mmlu_pro
from modelsat.data.locate import data_dir
from modelsat.data.zoos import SMALL
from modelsat.router.config import load_config
from modelsat.router.routing.llm.inference import autocast, use_bf16
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.training.losses import instruction_listwise_loss
from modelsat.router.training.prefix_store import PrefixStore
from modelsat.router.training.train import set_stage
from modelsat.router.training.training_data import ScoreMatrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="instructions per step")
    parser.add_argument("--subset", type=int, default=6, help="cards per step in the subset runs")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per setting (after one warm-up)")
    parser.add_argument("--bf16", default="auto", choices=["auto", "on", "off"])
    args = parser.parse_args()
    cfg = load_config("cpu-small")
    net = RouterNet.build(cfg.router)
    set_stage(net, cfg, stage=1)
    bf16 = use_bf16(args.bf16, net.device)
    outcomes = mmlu_pro.load(data_dir() / "mmlu-pro").outcomes
    models = list(SMALL)
    aptitude = select_aptitude_set(outcomes, models)
    cards = [build_cards(outcomes, aptitude, models)[m] for m in models]
    train = ScoreMatrix.from_outcomes(outcomes, models, "train", exclude=aptitude.query_ids).informative()
    rng = np.random.default_rng(0)
    pool = rng.choice(len(train.prompts), size=args.batch * (args.steps + 1), replace=False)
    prompts = [train.prompts[i] for i in pool]
    targets = torch.tensor(train.scores[pool], dtype=torch.float32)

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        store = PrefixStore.open_or_build(net, prompts, Path(folder), bf16)
        assert store is not None, f"no disk room for the prefix store in {folder}"
        store_s = (time.perf_counter() - start) / len(prompts)
        net.train()

        def step(rows: np.ndarray, cols: np.ndarray, stored: bool) -> float:
            begin = time.perf_counter()
            step_cards = [cards[c] for c in cols]
            if stored:
                mask, cache, embedded = store.batch(rows, torch.bfloat16 if bf16 else torch.float32)
                inputs = {"cache": cache, "embedded": embedded}
            else:
                instructions = [prompts[i] for i in rows]
                ids, mask = net.prefixes(instructions)
                inputs = {"prefix_ids": ids, "instructions": instructions}
            with autocast(net.device, bf16):
                scores = net(mask, step_cards, **inputs)
            instruction_listwise_loss(scores, targets[rows][:, cols]).backward()
            net.zero_grad(set_to_none=True)
            return time.perf_counter() - begin

        print(f"{len(train.prompts)} training instructions, {args.batch} per step, bf16={bf16}")
        print(f"storing one prefix: {1000 * store_s:.0f} ms (once per instruction)")
        print(f"{'cards':>6} {'fresh s/step':>13} {'stored s/step':>14} {'speed-up':>9} {'break-even passes':>18}")
        for n_cards in (len(models), args.subset):
            cols = np.sort(rng.choice(len(models), n_cards, replace=False))
            seconds = {}
            for stored in (False, True):
                runs = [
                    step(np.arange(k * args.batch, (k + 1) * args.batch), cols, stored) for k in range(args.steps + 1)
                ]
                seconds[stored] = statistics.median(runs[1:])
            saved_per_instruction = (seconds[False] - seconds[True]) / args.batch
            print(
                f"{n_cards:>6} {seconds[False]:>13.2f} {seconds[True]:>14.2f} {seconds[False] / seconds[True]:>8.1f}x"
                f" {store_s / saved_per_instruction:>18.2f}"
            )


if __name__ == "__main__":
    main()
