"""Fixtures: a synthetic three-topic zoo for end-to-end runs (hand-made data in `eval_fixtures.py`)."""

import numpy as np
import pandas as pd
import pytest
from eval_fixtures import MODELS

from modelsat.data.schema import validate_outcomes


@pytest.fixture(scope="session")
def synthetic_outcomes() -> pd.DataFrame:
    """400 queries: A is strong on math (in-domain), B on history (in-domain), C on physics (out-of-domain)."""
    rng = np.random.default_rng(0)
    accuracy = {"math": (0.9, 0.2, 0.4), "history": (0.2, 0.9, 0.4), "physics": (0.3, 0.3, 0.8)}
    rows = []
    for i in range(400):
        topic = ("math", "history", "physics")[i % 3]
        source = "stemez" if topic == "physics" else f"ori_mmlu-{topic}"
        for model, p in zip(MODELS, accuracy[topic], strict=True):
            rows.append(
                {
                    "model": model,
                    "query_id": f"syn/{i}",
                    "prompt": f"{topic} question {i}",
                    "task": f"mmlu/{topic}" if topic != "physics" else "mmlu-pro/physics",
                    "source": source,
                    "category": topic,
                    "score": float(rng.random() < p),
                }
            )
    return validate_outcomes(pd.DataFrame(rows), "synthetic")
