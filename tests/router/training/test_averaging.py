"""The moving average of the trainable weights: its arithmetic, the swap and its checkpoint state."""

import pytest
import torch

from modelsat.router.config import ModelsatConfig, RouterConfig
from modelsat.router.routing.llm.loading import trainable_state
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.training.averaging import WeightAverage


def clone_state(net: RouterNet) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainable_state(net).items()}


def shift_weights(net: RouterNet, by: float) -> None:
    with torch.no_grad():
        for name, p in net.capability.named_parameters():
            if not name.startswith("encoder."):
                p.add_(by)


def test_the_average_follows_the_warmed_up_decay_and_swaps_back(tiny_specs):
    net = RouterNet.build(RouterConfig(llm=tiny_specs["llm"], encoder=tiny_specs["encoder"]))
    start = clone_state(net)
    average = WeightAverage(0.9)
    average.update(net)  # first update: the average starts at the current weights
    shift_weights(net, 1.0)
    average.update(net)  # decay min(0.9, 2/11): 2/11 of the old average, 9/11 of the new weights
    name = "capability." + next(n for n, _ in net.capability.named_parameters() if not n.startswith("encoder."))
    expected = start[name] + 9 / 11
    torch.testing.assert_close(average.weights[name], expected)
    own = clone_state(net)
    with average.swapped_in(net):
        torch.testing.assert_close(trainable_state(net)[name], expected)
    for key, value in trainable_state(net).items():
        assert torch.equal(value, own[key]), f"{key} not restored after the swap"
    restored = WeightAverage(0.9, average.state_dict())
    assert restored.updates == 2 and torch.equal(restored.weights[name], average.weights[name])


def test_a_decay_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="ema_decay"):
        ModelsatConfig.model_validate({"train": {"ema_decay": 1.0}})
