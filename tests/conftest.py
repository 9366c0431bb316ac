"""Shared fixtures: the real MMLU-Pro outcomes (imported once per session), the data folder and an
in-process `modelsat` runner."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from modelsat.data.importers import mmlu_pro
from modelsat.data.locate import data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (`$MODELSAT_DATA` or ../shared/data)."""
    return data_dir()


@pytest.fixture(scope="session")
def mmlu_outcomes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """All 25 MMLU-Pro models as one outcomes table (about 10 s, once per session)."""
    return mmlu_pro.load(shared_data / "mmlu-pro").outcomes


class CliResult(NamedTuple):
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
