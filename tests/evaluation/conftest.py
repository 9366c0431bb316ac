"""A hand-made 3-model × 5-prompt outcome matrix and a larger synthetic zoo for end-to-end runs."""

import numpy as np
import pandas as pd
import pytest

from modelsat.data.schema import validate_outcomes

MODELS = ["A", "B", "C"]
# Hand fixture. Oracle: q1 A, q2 B, q3 nobody, q4 A or B, q5 C → 4/5; in-domain (q1, q2, q5) 3/3, out (q3, q4) 1/2.
HAND_Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
HAND_QUERIES = pd.DataFrame(
    {
        "query_id": ["q1", "q2", "q3", "q4", "q5"],
        "prompt": ["p1", "p2", "p3", "p4", "p5"],
        "task": ["mmlu/law", "mmlu/law", "mmlu-pro/physics", "mmlu-pro/physics", "mmlu/biology"],
        "source": ["ori_mmlu-law", "ori_mmlu-law", "stemez", "scibench", "ori_mmlu-biology"],
        "category": ["law", "law", "physics", "physics", "biology"],
    }
)


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
