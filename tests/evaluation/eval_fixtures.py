"""A hand-made 3-model × 5-prompt outcome matrix whose metrics are worked out by hand."""

import numpy as np
import pandas as pd

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


class TopicRouter:
    """A stand-in for Model-SAT: knows which model is strong on which topic."""

    name = "model-sat"

    def score(self, queries: pd.DataFrame, models) -> np.ndarray:
        expert = {"math": "A", "history": "B", "physics": "C"}
        best = [expert[p.split()[0]] for p in queries["prompt"]]
        return np.array([[float(b == m) for m in models] for b in best])
