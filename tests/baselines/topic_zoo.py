"""Synthetic outcomes with a learnable signal: model A is right on math, B on history, C is mediocre."""

import hashlib

import numpy as np
import pandas as pd

MODELS = ["A", "B", "C"]
ACCURACY = {"math": (0.95, 0.1, 0.5), "history": (0.1, 0.95, 0.5)}


def topic_outcomes(n: int, seed: int, prefix: str) -> pd.DataFrame:
    """`n` queries alternating math/history, one row per (model, query)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic = ("math", "history")[i % 2]
        prompt = f"{topic} question number {i} {prefix}"
        for model, p in zip(MODELS, ACCURACY[topic], strict=True):
            rows.append(
                {
                    "model": model,
                    "query_id": f"{prefix}/{i}",
                    "prompt": prompt,
                    "task": f"mmlu/{topic}",
                    "source": f"ori_mmlu-{topic}",
                    "category": topic,
                    "score": float(rng.random() < p),
                }
            )
    return pd.DataFrame(rows)


def topic_embedder(texts: list[str]) -> np.ndarray:
    """Fake encoder: a topic direction plus text-hashed noise, so neighbours share a topic."""
    out = []
    for text in texts:
        noise = np.random.default_rng(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)).normal(size=16)
        topic = np.eye(16)[0 if text.startswith("math") else 1] * 3
        out.append(topic + 0.5 * noise)
    return np.asarray(out, dtype=np.float32)
