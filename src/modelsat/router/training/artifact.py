"""Writing a router directory (its layout: `routing/folder.py`), atomically, file by file.

Example:
    save_router(net, cfg, out_dir, aptitude=aptitude, cards=cards, meta={"zoo": models})
    write_metrics(out_dir, {"curve": [...]})
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml
from safetensors.torch import save_file

import modelsat
from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import Card, save_cards
from modelsat.io import atomic_write_bytes, atomic_write_text
from modelsat.router.config import PROMPT_FORMAT_VERSION, ModelsatConfig
from modelsat.router.routing.calibration import CALIBRATION_FILE, FAST_CALIBRATION_FILE
from modelsat.router.routing.folder import WEIGHTS_FILE
from modelsat.router.routing.llm.loading import trainable_state
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.prototypes import PROTOTYPES_FILE, save_prototypes
from modelsat.router.routing.readout_choice import READOUT_FILE


def git_sha() -> str | None:
    """Commit of the source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


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
    tmp = out_dir / f".{WEIGHTS_FILE}.tmp"
    save_file(trainable_state(net), str(tmp))
    atomic_write_bytes(out_dir / WEIGHTS_FILE, tmp.read_bytes())
    tmp.unlink()
    for name in (CALIBRATION_FILE, FAST_CALIBRATION_FILE, READOUT_FILE):  # fitted to the weights just replaced
        (out_dir / name).unlink(missing_ok=True)


def write_metrics(router_dir: Path, metrics: dict[str, Any]) -> None:
    """Validation curve and timings, atomically."""
    atomic_write_text(Path(router_dir) / "metrics.json", json.dumps(metrics, indent=1))
