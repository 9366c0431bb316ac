"""Exponential moving average of a router's trainable weights (connector, pooling, LoRA).

Validation accuracy of single checkpoints swings by several points from one evaluation to the
next; an average of the recent weights moves less, so validation and the saved router use it.
The decay warms up as (1 + t) / (10 + t), so early averages are not dominated by the initial
weights. Only the weights `trainable_state` stores are averaged (a few MB), never the base models.

Example:
    average = WeightAverage(0.99)
    average.update(net)          # after every optimizer step
    with average.swapped_in(net):
        validate(net)
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from modelsat.router.routing.llm.loading import load_trainable_state, trainable_state
from modelsat.router.routing.llm.model import RouterNet


class WeightAverage:
    """EMA of `trainable_state(net)`, updated after each step and swapped into the net for evaluation."""

    def __init__(self, decay: float, state: dict | None = None) -> None:
        self.decay = decay
        self.updates: int = state["updates"] if state else 0
        self.weights: dict[str, torch.Tensor] = dict(state["weights"]) if state else {}

    def update(self, net: RouterNet) -> None:
        """Move the average towards the net's current weights (weights new to the net start at their value)."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in trainable_state(net).items():
            if name in self.weights:
                self.weights[name].lerp_(value, 1.0 - decay)
            else:
                self.weights[name] = value.clone()
        self.updates += 1

    @contextmanager
    def swapped_in(self, net: RouterNet) -> Iterator[None]:
        """Inside the block the net holds the averaged weights; its own come back afterwards."""
        own = {k: v.clone() for k, v in trainable_state(net).items()}  # the state may share the params' memory
        load_trainable_state(net, self.weights | {k: v for k, v in own.items() if k not in self.weights})
        try:
            yield
        finally:
            load_trainable_state(net, own)

    def state_dict(self) -> dict:
        """What a checkpoint stores to resume the average."""
        return {"updates": self.updates, "weights": self.weights}
