"""Training losses over a (B instructions × M cards) matrix of log-odds scores.

- `card_group_loss`: Model-SAT's homogeneous in-batch negatives (§3.3): per card, one instruction the
  model got right and k−1 it got wrong, cross-entropy with the positive at index 0.
- `instruction_listwise_loss`: our extension (DESIGN §5): per instruction, softmax over the models
  sharing its forward pass, target = uniform over the models that got it right.
- `pointwise_loss`: binary cross-entropy of P(Yes) against the outcome, which keeps P(Yes) calibrated
  (cost-aware routing trades P(Yes) against price, so its scale matters).

Example:
    loss = card_group_loss(scores, targets, k=4, generator=g) + instruction_listwise_loss(scores, targets)
"""

import torch
import torch.nn.functional as F


def card_group_loss(
    scores: torch.Tensor,
    targets: torch.Tensor,
    group_size: int,
    generator: torch.Generator,
    model_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over cards with ≥1 right and ≥1 wrong instruction in the batch; `targets` are (B, M) in {0, 1}."""
    losses, weights = [], []
    for m in range(scores.shape[1]):
        pos = torch.nonzero(targets[:, m] > 0.5).flatten()
        neg = torch.nonzero(targets[:, m] <= 0.5).flatten()
        if len(pos) == 0 or len(neg) == 0:
            continue
        p = pos[torch.randint(len(pos), (1,), generator=generator)]
        n = neg[torch.randperm(len(neg), generator=generator)[: group_size - 1]]
        logits = scores[torch.cat([p, n]), m].float()  # (k,) positive first
        losses.append(F.cross_entropy(logits.unsqueeze(0), torch.zeros(1, dtype=torch.long, device=scores.device)))
        weights.append(1.0 if model_weights is None else float(model_weights[m]))
    if not losses:
        return scores.sum() * 0.0
    w = torch.tensor(weights, device=scores.device)
    return (torch.stack(losses) * w).sum() / w.sum()


def instruction_listwise_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Soft-target cross-entropy per instruction over models; rows where all or none are right are skipped."""
    right = targets.sum(dim=1)
    keep = (right > 0) & (right < targets.shape[1])
    if not keep.any():
        return scores.sum() * 0.0
    target = targets[keep] / right[keep].unsqueeze(1)
    return -(target * F.log_softmax(scores[keep].float(), dim=1)).sum(dim=1).mean()


def pointwise_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(log-odds) against (B, M) outcomes in [0, 1]."""
    return F.binary_cross_entropy_with_logits(scores.float(), targets.float())
