"""Fixtures for the data tests: an in-process `modelsat` runner and small MMLU-Pro folders."""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class CliResult:
    """Exit code and captured output of one `modelsat` call."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `modelsat ARGS...` through the real entry point (error boundary included), in process."""
    from modelsat.cli.main import main  # the whole CLI; imported here so library tests run without it

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["modelsat", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def mmlu_two(shared_data: Path, tmp_path: Path) -> Path:
    """A folder linking two real MMLU-Pro zips: Phi-3-mini and DeepSeek-Coder-V2 (43 bare-string records)."""
    folder = tmp_path / "mmlu-two"
    folder.mkdir()
    for model in ("Phi-3-mini-4k-instruct", "DeepSeek-Coder-V2"):
        name = f"model_outputs_{model}_5shots.zip"
        (folder / name).symlink_to(shared_data / "mmlu-pro" / name)
    return folder
