"""Multi-label MLP on frozen sentence embeddings: predicts each model's correctness on a query.

The paper's "RoBERTa + MLP" text-only ablation row (Model-SAT Table 3), with the bundled MiniLM
as the frozen encoder: one hidden layer, sigmoid output per model, binary cross-entropy over the
answered (query, model) pairs, early-stopped on a held-out 10 % of the train queries. Route to
the model with the highest predicted probability.

Example:
    router = MlpRouter(hidden=256, epochs=50).fit(train_rows, models)
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch

from modelsat.baselines.common import EmbeddingRouter
from modelsat.baselines.training import fit_early_stopped


class MlpRouter(EmbeddingRouter):
    """embedding → Linear → ReLU → Dropout → Linear → per-model logits."""

    name = "mlp"

    def __init__(
        self,
        hidden: int = 256,
        epochs: int = 50,
        batch_size: int = 256,
        dropout: float = 0.2,
        seed: int = 0,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ):
        super().__init__(seed=seed, embedder=embedder)
        self.batch_size = batch_size
        self.hidden, self.epochs, self.dropout = hidden, epochs, dropout

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], self.hidden),  # (B, D) -> (B, H)
            torch.nn.ReLU(),
            torch.nn.Dropout(self.dropout),
            torch.nn.Linear(self.hidden, y.shape[1]),  # (B, H) -> (B, M)
        )
        xt = torch.from_numpy(x)
        observed = torch.from_numpy(~np.isnan(y))
        target = torch.from_numpy(np.nan_to_num(y)).float()

        def loss(idx):
            logits = self.net(xt[idx])
            per_pair = torch.nn.functional.binary_cross_entropy_with_logits(logits, target[idx], reduction="none")
            return per_pair[observed[idx]].mean()

        options = {"epochs": self.epochs, "seed": self.seed, "batch_size": self.batch_size}
        fit_early_stopped(self.net, loss, self._predict, x, y, **options)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(self.net(torch.from_numpy(x))).double().numpy()
