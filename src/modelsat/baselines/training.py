"""A small full-batch-shuffled Adam loop shared by the torch baselines (mlp, matrix factorisation, RouterDC).

Example:
    train_loop(module, lambda idx: loss_of(module, idx), n_items=len(x), epochs=30, seed=0)
"""

from collections.abc import Callable

import torch


def train_loop(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    n_items: int,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
) -> list[float]:
    """Train `module` with Adam on shuffled mini-batches of item indices; returns the mean loss per epoch.

    `loss_fn(idx)` gets a 1-D LongTensor of item indices and returns a scalar loss. Runs on one
    thread (restored afterwards): these networks are so small that thread synchronisation costs
    more than it saves, many times more on a busy machine.
    """
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    module.train()
    history = []
    try:
        for _ in range(epochs):
            total, batches = 0.0, 0
            for idx in torch.randperm(n_items, generator=generator).split(batch_size):
                loss = loss_fn(idx)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, batches = total + loss.item(), batches + 1
            history.append(total / max(batches, 1))
    finally:
        torch.set_num_threads(threads)
        module.eval()
    return history
