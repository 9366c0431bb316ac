"""Cost fixtures: the real RouterBench subset (11 models with recorded USD costs), imported once."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import routerbench


@pytest.fixture(scope="session")
def routerbench_outcomes(shared_data: Path) -> pd.DataFrame:
    """Every RouterBench row: 3,164 queries × 11 models, each with its USD cost."""
    return routerbench.load(shared_data / "routerbench-subset").outcomes


@pytest.fixture(scope="session")
def routerbench_file(routerbench_outcomes: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RouterBench outcomes as a Parquet file for CLI runs."""
    from modelsat.data.schema import write_outcomes

    path = tmp_path_factory.mktemp("routerbench") / "routerbench.parquet"
    write_outcomes(routerbench_outcomes, path)
    return path
