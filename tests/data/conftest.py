"""Fixtures for the data tests: small MMLU-Pro folders."""

from pathlib import Path

import pytest


@pytest.fixture
def mmlu_two(shared_data: Path, tmp_path: Path) -> Path:
    """A folder linking two real MMLU-Pro zips: Phi-3-mini and DeepSeek-Coder-V2 (43 bare-string records)."""
    folder = tmp_path / "mmlu-two"
    folder.mkdir()
    for model in ("Phi-3-mini-4k-instruct", "DeepSeek-Coder-V2"):
        name = f"model_outputs_{model}_5shots.zip"
        (folder / name).symlink_to(shared_data / "mmlu-pro" / name)
    return folder
