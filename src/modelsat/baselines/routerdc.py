"""RouterDC: a query encoder and learned LLM embeddings trained with dual contrastive losses.

Follows Chen et al., "RouterDC: Query-Based Router by Dual Contrastive Learning for Assembling
Large Language Models" (NeurIPS 2024, arXiv 2409.19886; github.com/shuhao02/RouterDC), kept small
for a CPU: instead of fine-tuning mDeBERTa, a trainable projection on frozen MiniLM embeddings.

- Score: cosine similarity between the projected query and each LLM's embedding (÷ temperature).
- Sample-LLM contrastive loss: for each query, every best-scoring LLM is pulled towards it against
  the worst-scoring ones: −log(e^{s⁺} / (e^{s⁺} + Σ e^{s⁻})) (queries every LLM got equally right
  or wrong carry no signal and are skipped).
- Sample-sample contrastive loss: train queries are clustered by k-means on their embeddings; a
  query is pulled towards an in-batch query of its cluster against in-batch queries of other
  clusters. Total loss = sample-LLM + λ · sample-sample; early-stopped on a held-out 10 % of
  the train queries.

Example:
    router = RouterDcRouter(epochs=50).fit(train_rows, models)
"""

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from modelsat.baselines.common import EmbeddingRouter
from modelsat.baselines.training import fit_early_stopped


class DualEncoder(torch.nn.Module):
    """Query projection plus one learned embedding per LLM."""

    def __init__(self, text_dim: int, n_models: int, hidden: int = 256, dim: int = 128):
        super().__init__()
        self.proj = torch.nn.Sequential(
            torch.nn.Linear(text_dim, hidden),  # (B, D_text) -> (B, hidden)
            torch.nn.GELU(),
            torch.nn.Linear(hidden, dim),  # (B, hidden) -> (B, dim)
        )
        self.llms = torch.nn.Parameter(torch.randn(n_models, dim) * 0.1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (unit query vectors (B, dim), cosine similarities to every LLM (B, M))."""
        q = F.normalize(self.proj(x), dim=-1)  # (B, D_text) -> (B, dim)
        return q, q @ F.normalize(self.llms, dim=-1).T  # (B, dim) @ (dim, M) -> (B, M)


def sample_llm_loss(sim: torch.Tensor, y: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """Mean over (query, best LLM) pairs of −log(e^{s⁺} / (e^{s⁺} + Σ_{worst} e^{s⁻})); sim already ÷ τ."""
    high = torch.where(observed, y, torch.full_like(y, -torch.inf)).amax(dim=1, keepdim=True)
    low = torch.where(observed, y, torch.full_like(y, torch.inf)).amin(dim=1, keepdim=True)
    positive = observed & (y == high) & (high > low)
    negative = observed & (y == low) & (high > low)
    neg_lse = torch.logsumexp(sim.masked_fill(~negative, -torch.inf), dim=1, keepdim=True)  # (B, 1)
    per_pair = torch.logaddexp(sim, neg_lse) - sim  # (B, M)
    return per_pair[positive].mean() if positive.any() else sim.sum() * 0


def sample_sample_loss(q: torch.Tensor, clusters: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """In-batch contrastive loss: one random same-cluster positive vs all other-cluster negatives per anchor."""
    sim = q @ q.T / tau  # (B, B)
    same = clusters[:, None] == clusters[None, :]
    eye = torch.eye(len(q), dtype=torch.bool)
    candidates = same & ~eye
    anchors = candidates.any(dim=1) & (~same).any(dim=1)
    if not anchors.any():
        return sim.sum() * 0
    noise = torch.rand(sim.shape, generator=generator).masked_fill(~candidates, -1.0)
    pos = noise.argmax(dim=1)  # a random same-cluster partner per anchor
    s_pos = sim.gather(1, pos[:, None])  # (B, 1)
    neg_lse = torch.logsumexp(sim.masked_fill(same, -torch.inf), dim=1, keepdim=True)  # (B, 1)
    return (torch.logaddexp(s_pos, neg_lse) - s_pos)[anchors].mean()


class RouterDcRouter(EmbeddingRouter):
    """Dual-contrastive router on frozen embeddings (RouterDC, small)."""

    name = "routerdc"

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 256,
        n_clusters: int = 10,
        tau: float = 0.1,
        weight_sample_sample: float = 1.0,
        seed: int = 0,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    ):
        super().__init__(seed=seed, embedder=embedder)
        self.batch_size = batch_size
        self.epochs, self.n_clusters, self.tau, self.weight = epochs, n_clusters, tau, weight_sample_sample

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.cluster import KMeans

        torch.manual_seed(self.seed)
        n_clusters = max(1, min(self.n_clusters, len(x)))
        clusters = torch.from_numpy(KMeans(n_clusters, n_init=3, random_state=self.seed).fit_predict(x))
        self.net = DualEncoder(x.shape[1], y.shape[1])
        xt, observed = torch.from_numpy(x), torch.from_numpy(~np.isnan(y))
        target = torch.from_numpy(np.nan_to_num(y)).float()
        generator = torch.Generator().manual_seed(self.seed)

        def loss(idx):
            q, sim = self.net(xt[idx])
            l_sl = sample_llm_loss(sim / self.tau, target[idx], observed[idx])
            return l_sl + self.weight * sample_sample_loss(q, clusters[idx], self.tau, generator)

        options = {"epochs": self.epochs, "seed": self.seed, "batch_size": self.batch_size}
        fit_early_stopped(self.net, loss, self._predict, x, y, **options)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.net(torch.from_numpy(x))[1].double().numpy()
