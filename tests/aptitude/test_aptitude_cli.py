"""`modelsat aptitude select`, `modelsat profile` (recorded outcomes) and `modelsat plot cards`."""

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
from typer.testing import CliRunner

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import load_cards
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.cli.main import app
from modelsat.data.schema import read_outcomes
from modelsat.errors import ConfigError, DataError

runner = CliRunner()


def invoke(*args: str | Path) -> object:
    """Run the typer app in-process (ModelsatError propagates as `result.exception`)."""
    return runner.invoke(app, [str(a) for a in args])


def test_aptitude_select_writes_the_default_set(outcomes_file: Path, aptitude: AptitudeSet, tmp_path: Path) -> None:
    result = invoke("aptitude", "select", "--outcomes", outcomes_file, "--zoo", "small", "-o", tmp_path / "apt.json")
    assert result.exit_code == 0, result.output
    assert AptitudeSet.load(tmp_path / "apt.json").fingerprint == aptitude.fingerprint
    result = invoke(
        "aptitude", "select", "--outcomes", outcomes_file, "--models", "Yi-6B,Yi-6b-Chat", "--tasks", "10",
        "--per-task", "5", "--sampling", "discriminative", "-o", tmp_path / "small.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    small = AptitudeSet.load(tmp_path / "small.json")
    assert small.zoo == ("Yi-6B", "Yi-6b-Chat") and len(small.query_ids) == 50
    expected = select_aptitude_set(
        read_outcomes(outcomes_file), ["Yi-6B", "Yi-6b-Chat"], 10, 5, sampling="discriminative"
    )
    assert small.fingerprint == expected.fingerprint


def test_profile_from_router_dir_with_facts(
    aptitude_rows_file: Path, aptitude_file: Path, aptitude: AptitudeSet, tmp_path: Path
) -> None:
    router = tmp_path / "router"
    router.mkdir()
    shutil.copy(aptitude_file, router / "aptitude.json")
    (tmp_path / "zoo.yaml").write_text("models:\n  mathstral-7B:\n    context_length: 32768\n")
    result = invoke(
        "profile", "--outcomes", aptitude_rows_file, "--router", router, "-o", tmp_path / "cards.json",
        "--models", "mathstral-7B,Yi-6B", "--facts", tmp_path / "zoo.yaml",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cards = load_cards(tmp_path / "cards.json")
    assert sorted(cards) == ["Yi-6B", "mathstral-7B"]
    assert cards["mathstral-7B"].clauses()[-1] == "context length: 32768 tokens"
    assert cards["Yi-6B"].aptitude_fingerprint == aptitude.fingerprint

    result = invoke("profile", "--outcomes", aptitude_rows_file, "--aptitude", aptitude_file, "-o", tmp_path / "a.json")
    assert result.exit_code == 0 and len(load_cards(tmp_path / "a.json")) == 25


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ([], ConfigError, "exactly one of --router DIR or --aptitude FILE"),
        (["--aptitude", "APT", "--models", "mathstral-7b"], ConfigError, "did you mean 'mathstral-7B'"),
        (["--aptitude", "APT", "--live", "ollama:x"], ConfigError, "expected hf:PATH_OR_ID"),
        (["--aptitude", "APT", "--template", "{accuracy:.0%} {keywords}"], ConfigError, "not a clause template"),
        (["--router", "NOWHERE"], DataError, "no aptitude set file"),
    ],
)
def test_profile_usage_errors(
    aptitude_rows_file: Path, aptitude_file: Path, tmp_path: Path, extra: list[str], error: type, message: str
) -> None:
    args = [str(aptitude_file) if a == "APT" else str(tmp_path / a) if a == "NOWHERE" else a for a in extra]
    result = invoke("profile", "--outcomes", aptitude_rows_file, "-o", tmp_path / "c.json", *args)
    assert isinstance(result.exception, error) and message in str(result.exception)


def test_errors_exit_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelsat.cli.main", "plot", "cards", "--cards", tmp_path / "none.json", "-o", "x.png"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: {tmp_path / 'none.json'}: no cards file (make one with `modelsat profile`)"


def test_plot_cards_draws_a_heatmap(aptitude_rows_file: Path, aptitude_file: Path, tmp_path: Path) -> None:
    invoke("profile", "--outcomes", aptitude_rows_file, "--aptitude", aptitude_file, "-o", tmp_path / "cards.json")
    result = invoke("plot", "cards", "--cards", tmp_path / "cards.json", "-o", tmp_path / "cards.png")
    assert result.exit_code == 0, result.output
    image = matplotlib.image.imread(tmp_path / "cards.png")
    height, width = image.shape[:2]
    assert width > 1000 and height > 600  # 50 task columns, 25 model rows
