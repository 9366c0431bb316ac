"""A router directory is read once (`RouterFolder`): loading a router and switching its routing mode open each of its
files at most once, and every unreadable file gives an error naming it."""

import io
import shutil
from collections import Counter
from pathlib import Path

import pytest
import safetensors
import safetensors.torch

from modelsat.errors import RouterError
from modelsat.router.routing.calibration import CALIBRATION_FILE, FAST_CALIBRATION_FILE
from modelsat.router.routing.folder import WEIGHTS_FILE, RouterFolder
from modelsat.router.routing.prototypes import PROTOTYPES_FILE
from modelsat.router.routing.readout_choice import READOUT_FILE
from modelsat.router.routing.service import load_router

SHIPPED = Path(__file__).resolve().parents[3] / "routers" / "default"
EVERY_FILE = {
    "config.yaml",
    "aptitude.json",
    "cards.json",
    WEIGHTS_FILE,
    PROTOTYPES_FILE,
    READOUT_FILE,
    CALIBRATION_FILE,
    FAST_CALIBRATION_FILE,
}


@pytest.fixture
def router(tmp_path) -> Path:
    """A copy of routers/default, which holds every optional file a router directory may hold: a stored readout
    choice and a calibration for each mode."""
    out = tmp_path / "router"
    shutil.copytree(SHIPPED, out)
    return out


def count_opens(monkeypatch, root: Path) -> Counter:
    """Counts, by file name, every open of a file under `root`: Python's (open, Path.read_text, ...) and safetensors'
    (whose reader opens files itself)."""
    opened: Counter = Counter()

    def record(file) -> None:
        path = Path(str(file)).resolve()
        if path.is_relative_to(root.resolve()):
            opened[path.relative_to(root.resolve()).as_posix()] += 1

    python_open = io.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            record(file)
        return python_open(file, *args, **kwargs)

    safe_open = safetensors.safe_open

    def counting_safe_open(file, *args, **kwargs):
        record(file)
        return safe_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr("builtins.open", counting_open)
    monkeypatch.setattr(safetensors, "safe_open", counting_safe_open)
    monkeypatch.setattr(safetensors.torch, "safe_open", counting_safe_open)
    return opened


@pytest.mark.parametrize("first", ["fast", "full"])
def test_loading_and_switching_mode_open_each_router_file_once(router, monkeypatch, first):
    opened = count_opens(monkeypatch, router)
    service = load_router(router, mode=first, bf16="off")
    other = service.with_mode("full" if first == "fast" else "fast")
    assert set(opened) == EVERY_FILE, "every file routing needs is read, nothing else"
    assert all(n == 1 for n in opened.values()), f"a router file was opened more than once: {dict(opened)}"
    assert other.calibration is not None and service.calibration is not None, "each mode's calibration is read"
    assert service.with_mode(first) is service and other.with_mode(other.mode) is other


def test_fast_scorer_takes_the_capability_slice_of_the_weights():
    folder = RouterFolder.read(SHIPPED)
    capability = folder.part("capability")
    assert capability and set(capability) == {
        k.removeprefix("capability.") for k in folder.weights if k.startswith("capability.")
    }
    assert len(capability) + len(folder.part("llm")) == len(folder.weights), "every weight is the one or the other"
    assert folder.calibrations.keys() == {"full", "fast"}, "routers/default ships a calibration of each mode"
    assert folder.readout_choice is not None and folder.readout_choice.grouping == "kind", "it reads the request's kind"
    assert folder.prototypes is not None and len(folder.prototypes) == len(folder.aptitude.tasks)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (WEIGHTS_FILE, "not a router's weights"),
        (PROTOTYPES_FILE, "not task prototypes"),
        (READOUT_FILE, "not a readout choice"),
        (FAST_CALIBRATION_FILE, "not a calibration file"),
    ],
)
def test_an_unreadable_file_is_named(router, name, message):
    (router / name).write_bytes(b"not what it claims")
    with pytest.raises(RouterError, match=f"{router / name}.*{message}"):
        RouterFolder.read(router)


def test_the_files_a_command_rewrites_are_read_only_when_asked(router):
    """`calibrate` fits raw log-odds and `readout choose` compares with the readout as trained, so a broken
    calibration or readout file must not stop the commands that write them again."""
    (router / CALIBRATION_FILE).write_text("{")
    (router / READOUT_FILE).write_bytes(b"broken")
    folder = RouterFolder.read(router, stored_readout=False, calibrations=False)
    assert folder.readout_choice is None and folder.calibrations == {}
    assert load_router(folder, calibrated=False, mode="fast").calibration is None
