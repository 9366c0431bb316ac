"""Matrix-factorisation router: learned model embeddings × projected query embeddings.

Follows RouteLLM's `MFModel` (Ong et al., 2024, routellm/routers/matrix_factorization/model.py)
and EmbedLLM (Zhuang et al., 2024): logit(q, m) = wᵀ(v_m ⊙ P e_q) + b_m, where e_q is the frozen
MiniLM embedding, P a learned projection and v_m a learned per-model vector, trained with binary
cross-entropy on every answered (query, model) pair, early-stopped on a held-out 10 % of the
train queries.

Example:
    router = MatrixFactorisationRouter(dim=64).fit(train_rows, models)
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch

from modelsat.baselines.common import EmbeddingRouter
from modelsat.baselines.training import fit_early_stopped


class Factorisation(torch.nn.Module):
    """logit(q, m) = wᵀ(v_m ⊙ P e_q) + b_m."""

    def __init__(self, text_dim: int, n_models: int, dim: int):
        super().__init__()
        self.proj = torch.nn.Linear(text_dim, dim, bias=False)
        self.models = torch.nn.Embedding(n_models, dim)
        self.out = torch.nn.Linear(dim, 1, bias=False)
        self.bias = torch.nn.Parameter(torch.zeros(n_models))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.proj(x)  # (B, D_text) -> (B, D)
        joint = q[:, None, :] * self.models.weight[None, :, :]  # (B, M, D)
        return self.out(joint).squeeze(-1) + self.bias  # (B, M)


class MatrixFactorisationRouter(EmbeddingRouter):
    """Bilinear query–model scorer trained on per-pair correctness."""

    name = "matrix-factorisation"

    def __init__(
        self,
        dim: int = 64,
        epochs: int = 50,
        batch_size: int = 256,
        seed: int = 0,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ):
        super().__init__(seed=seed, embedder=embedder)
        self.batch_size = batch_size
        self.dim, self.epochs = dim, epochs

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        self.net = Factorisation(x.shape[1], y.shape[1], self.dim)
        xt = torch.from_numpy(x)
        observed = torch.from_numpy(~np.isnan(y))
        target = torch.from_numpy(np.nan_to_num(y)).float()

        def loss(idx):
            per_pair = torch.nn.functional.binary_cross_entropy_with_logits(
                self.net(xt[idx]), target[idx], reduction="none"
            )
            return per_pair[observed[idx]].mean()

        options = {"epochs": self.epochs, "seed": self.seed, "batch_size": self.batch_size}
        fit_early_stopped(self.net, loss, self._predict, x, y, **options)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(self.net(torch.from_numpy(x))).double().numpy()
