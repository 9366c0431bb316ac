"""Synthetic outcomes and tiny training settings shared by the router tests (routing/ and training/)."""

import numpy as np
import pandas as pd


def synthetic_outcomes(n_queries: int = 300) -> pd.DataFrame:
    """Two 'models': one right on math prompts, the other on history prompts; MMLU-style tasks."""
    rng = np.random.default_rng(0)
    rows = []
    subjects = ["mmlu/high_school_mathematics", "mmlu/high_school_us_history"]
    for q in range(n_queries):
        subject = subjects[q % 2]
        prompt = f"{'Compute the integral' if q % 2 == 0 else 'Which president signed the treaty'} #{q}?"
        for m, model in enumerate(["mathy", "historian"]):
            right = float((q % 2 == m) if rng.random() > 0.1 else rng.random() > 0.5)
            rows.append(
                {
                    "model": model,
                    "query_id": f"q{q}",
                    "prompt": prompt,
                    "task": subject,
                    "source": "ori_" + subject.replace("/", "-"),
                    "score": right,
                }
            )
    return pd.DataFrame(rows)


TINY_TRAIN = {  # seconds-long runs on the tiny models and synthetic outcomes
    "eval_every": 2,
    "val_queries": 16,
    "batch_instructions": 4,
    "aptitude_tasks": 2,
    "aptitude_per_task": 5,
    "warmup_steps": 1,
    "bf16": "off",
}
