"""Synthetic outcomes, tiny training settings and a stage-1 step shared by the router tests (routing/, training/)."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from modelsat.aptitude.cards import Card
from modelsat.router.config import ModelsatConfig, RouterConfig
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.training.losses import instruction_listwise_loss
from modelsat.router.training.train import set_stage

STAGE1_INSTRUCTIONS = ["Solve 2x = 4.", "Who wrote Hamlet?"]


def synthetic_outcomes(n_queries: int = 300) -> pd.DataFrame:
    """Two 'models': one right on math prompts, the other on history prompts; MMLU-style tasks."""
    rng = np.random.default_rng(0)
    rows = []
    subjects = ["mmlu/high_school_mathematics", "mmlu/high_school_us_history"]
    for q in range(n_queries):
        subject = subjects[q % 2]
        prompt = f"{'Compute the integral' if q % 2 == 0 else 'Which president signed the treaty'} #{q}?"
        for m, model in enumerate(["mathy", "historian"]):
            right = float((q % 2 == m) if rng.random() > 0.1 else rng.random() > 0.5)
            rows.append(
                {
                    "model": model,
                    "query_id": f"q{q}",
                    "prompt": prompt,
                    "task": subject,
                    "source": "ori_" + subject.replace("/", "-"),
                    "score": right,
                }
            )
    return pd.DataFrame(rows)


TINY_TRAIN = {  # seconds-long runs on the tiny models and synthetic outcomes
    "eval_every": 2,
    "val_queries": 16,
    "batch_instructions": 4,
    "aptitude_tasks": 2,
    "aptitude_per_task": 5,
    "warmup_steps": 1,
    "bf16": "off",
}


def stage1_backward(
    router: RouterConfig, make_card: Callable[[str, list[float]], Card]
) -> tuple[RouterNet, list[Card], torch.Tensor, torch.Tensor]:
    """A router net set up for stage 1 after one listwise backward pass over two cards and `STAGE1_INSTRUCTIONS`
    (the first instruction's answer is card "a", the second's card "b"): (net, cards, prefix ids, mask)."""
    cfg = ModelsatConfig(router=router)
    net = RouterNet.build(cfg.router)
    set_stage(net, cfg, stage=1)
    cards = [make_card("a", [0.2, 0.9, 0.5]), make_card("b", [0.8, 0.1, 0.5])]
    ids, mask = net.prefixes(STAGE1_INSTRUCTIONS)
    scores = net(mask, cards, prefix_ids=ids, instructions=STAGE1_INSTRUCTIONS)
    instruction_listwise_loss(scores, torch.tensor([[1.0, 0.0], [0.0, 1.0]])).backward()
    return net, cards, ids, mask
