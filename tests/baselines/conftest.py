"""Fixtures over the synthetic topic zoo (`topic_zoo.py`)."""

import pandas as pd
import pytest
from topic_zoo import topic_outcomes


@pytest.fixture(scope="module")
def train_rows() -> pd.DataFrame:
    return topic_outcomes(600, seed=1, prefix="train")


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    return topic_outcomes(60, seed=2, prefix="test")


@pytest.fixture(scope="module")
def test_queries(test_rows: pd.DataFrame) -> pd.DataFrame:
    return test_rows.drop_duplicates("query_id").reset_index(drop=True)
