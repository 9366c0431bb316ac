import numpy as np
import torch

from modelsat.baselines.training import holdout_split, routed_accuracy, train_loop


def test_early_stopping_restores_the_best_epoch_and_waits_patience_epochs() -> None:
    module = torch.nn.Linear(2, 1)
    x = torch.randn(32, 2)
    curve = iter([0.1, 0.5, 0.3, 0.2, 0.4, 0.45, 0.3, 0.9])
    snapshots = []

    def validate() -> float:
        snapshots.append(module.weight.detach().clone())
        return next(curve)

    history = train_loop(module, lambda idx: module(x[idx]).pow(2).mean(), np.arange(32), epochs=8, seed=0,
                         validate=validate, patience=3, batch_size=8)  # fmt: skip
    assert history == [0.1, 0.5, 0.3, 0.2, 0.4]  # stops 3 epochs after the best (0.5), never sees 0.9
    torch.testing.assert_close(module.weight, snapshots[1])
    assert not torch.equal(snapshots[1], snapshots[-1])


def test_holdout_split_and_routed_accuracy() -> None:
    fit, val = holdout_split(100, seed=0)
    assert len(val) == 10 and sorted({*fit, *val}) == list(range(100))
    assert holdout_split(10, seed=0)[1].size == 0
    y = np.array([[1.0, 0.0], [np.nan, 1.0]])
    assert routed_accuracy(np.array([[0.9, 0.1], [0.8, 0.2]]), y) == 0.5
