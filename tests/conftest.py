"""Shared fixtures: the real MMLU-Pro outcomes (imported once per session) and the data folder."""

from pathlib import Path

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
