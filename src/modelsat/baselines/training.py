"""A small mini-batch AdamW loop with early stopping, shared by the torch baselines (mlp, MF, RouterDC).

Early stopping watches the routed accuracy on a held-out slice of the *train* queries
(`holdout_split`), never the test split: the networks overfit the train outcomes within a few epochs.

Example:
    fit_early_stopped(module, loss_of, predict, x, y, epochs=50, seed=0)  # loss_of(idx) -> scalar loss
"""

import copy
from collections.abc import Callable

import numpy as np
import torch


def holdout_split(n_items: int, seed: int, fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (fit, validation) index split of `n_items`; validation is empty below 20 items."""
    order = np.random.default_rng(seed).permutation(n_items)
    n_val = int(n_items * fraction) if n_items >= 20 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def routed_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Mean outcome of the argmax model (unanswered pairs count as 0)."""
    pick = scores.argmax(axis=1)
    return float(np.nan_to_num(y)[np.arange(len(y)), pick].mean())


def train_loop(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    items: np.ndarray,
    *,
    epochs: int,
    seed: int,
    validate: Callable[[], float] | None = None,
    patience: int = 5,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
) -> list[float]:
    """Train `module` with AdamW on shuffled mini-batches of `items` (indices); returns the validation curve.

    `loss_fn(idx)` gets a 1-D LongTensor of item indices and returns a scalar loss. With `validate`
    (higher = better, called in eval mode after each epoch) the best epoch's weights are restored
    and training stops after `patience` epochs without improvement. Runs on one
    thread (restored afterwards): these networks are so small that thread synchronisation costs
    more than it saves, many times more on a busy machine.
    """
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    items_t = torch.as_tensor(items, dtype=torch.long)
    history: list[float] = []
    best_state, best = None, -float("inf")
    try:
        for _ in range(epochs):
            module.train()
            for idx in items_t[torch.randperm(len(items_t), generator=generator)].split(batch_size):
                loss = loss_fn(idx)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            module.eval()
            if validate is None:
                continue
            with torch.inference_mode():
                history.append(validate())
            if history[-1] > best:
                best, best_state = history[-1], copy.deepcopy(module.state_dict())
            elif len(history) - 1 - int(np.argmax(history)) >= patience:
                break
    finally:
        torch.set_num_threads(threads)
        module.eval()
    if best_state is not None:
        module.load_state_dict(best_state)
    return history


def fit_early_stopped(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 256,
) -> list[float]:
    """`train_loop` on 90 % of the train queries, early-stopped on routed accuracy over the other 10 %."""
    fit_idx, val_idx = holdout_split(len(x), seed)
    validate = (lambda: routed_accuracy(predict(x[val_idx]), y[val_idx])) if len(val_idx) else None
    return train_loop(module, loss_fn, fit_idx, epochs=epochs, seed=seed, validate=validate, batch_size=batch_size)
