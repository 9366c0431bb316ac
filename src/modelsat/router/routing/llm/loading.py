"""A router directory as a `RouterNet` (capability module + capability LLM): what full routing and training run.

Example:
    net = load_router_net(RouterFolder.read(Path("routers/default")))
    state = trainable_state(net)  # what weights.safetensors holds
"""

import torch

from modelsat.errors import RouterError
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.llm.model import RouterNet


def trainable_state(net: RouterNet) -> dict[str, torch.Tensor]:
    """Weights a router adds to the base models: capability module (with the encoder only when stage 2 tuned
    it) + LoRA."""
    state = {
        f"capability.{k}": v
        for k, v in net.capability.state_dict().items()
        if net.encoder_tuned or not k.startswith("encoder.") or "lora_" in k
    }
    state |= {f"llm.{k}": v for k, v in net.llm.state_dict().items() if "lora_" in k}
    return {k: v.detach().float().contiguous().cpu() for k, v in state.items()}


def load_trainable_state(net: RouterNet, state: dict[str, torch.Tensor]) -> None:
    """Inverse of `trainable_state`; every stored tensor must find its parameter."""
    cap = {k.removeprefix("capability."): v for k, v in state.items() if k.startswith("capability.")}
    llm = {k.removeprefix("llm."): v for k, v in state.items() if k.startswith("llm.")}
    if any(k.startswith("encoder.") for k in cap):
        net.encoder_tuned, net.clause_cache = True, {}
    missing_cap = net.capability.load_state_dict(cap, strict=False).unexpected_keys
    missing_llm = net.llm.load_state_dict(llm, strict=False).unexpected_keys if llm else []
    if missing_cap or missing_llm:
        raise RouterError(f"router weights do not fit this model (unexpected: {(missing_cap + missing_llm)[:3]})")


def load_router_net(folder: RouterFolder, device: str = "cpu") -> RouterNet:
    """Rebuild the network of a router read once (`RouterFolder`), base weights from their packages."""
    router = folder.config.router
    net = RouterNet.build(router, device=device)
    if any(k.startswith("llm.") for k in folder.weights) and router.lora is not None:
        from modelsat.router.routing.llm.adapters import add_llm_lora

        add_llm_lora(net, router.lora)
    try:
        load_trainable_state(net, dict(folder.weights))
    except RouterError as exc:
        raise RouterError(f"{folder.path}: {exc}") from exc
    net.prototypes = dict(folder.prototypes) if folder.prototypes is not None else None
    net.readout_choice = folder.readout_choice
    if net.readout_choice is not None and net.capability.readout is not None:
        net.readout_choice.install(net.capability.readout)
    net.eval()
    return net
