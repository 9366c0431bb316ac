"""A router directory as a `RouterNet` (capability module + capability LLM): what full routing and training run.

Example:
    net, cfg, aptitude = load_router_dir(Path("routers/default"))
    state = trainable_state(net)  # what weights.safetensors holds
"""

from pathlib import Path

import torch

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.errors import RouterError
from modelsat.router.config import ModelsatConfig
from modelsat.router.routing.folder import read_router_config, read_weights
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.prototypes import PROTOTYPES_FILE, load_prototypes
from modelsat.router.routing.readout_choice import load_readout_choice


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


def load_router_dir(router_dir: Path, device: str = "cpu") -> tuple[RouterNet, ModelsatConfig, AptitudeSet]:
    """Rebuild the network from a router directory (base weights from their packages)."""
    cfg, _ = read_router_config(router_dir)
    net = RouterNet.build(cfg.router, device=device)
    state = read_weights(router_dir)
    if any(k.startswith("llm.") for k in state) and cfg.router.lora is not None:
        from modelsat.router.routing.llm.adapters import add_llm_lora

        add_llm_lora(net, cfg.router.lora)
    load_trainable_state(net, state)
    if cfg.router.reads_prototypes:
        net.prototypes = load_prototypes(Path(router_dir) / PROTOTYPES_FILE)
    net.readout_choice = load_readout_choice(router_dir)
    if net.readout_choice is not None and net.capability.readout is not None:
        net.readout_choice.install(net.capability.readout)
    net.eval()
    return net, cfg, AptitudeSet.load(Path(router_dir) / "aptitude.json")
