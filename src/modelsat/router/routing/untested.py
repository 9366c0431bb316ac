"""How the accuracy readout reads a card's untested entries (docs/router.md, "Partial cards").

The readout weighs a card's task accuracies by the request's similarity weights w_t over the core tasks. For a
partial card let m_t be 1 on its tested tasks and `coverage` c = Σ w_t m_t the share of the request's weight that
fell on them. The estimate is

    p = c · (Σ w_t m_t a_t / c)  +  (1 − c) · (Σ w_t (1 − m_t) π_t / (1 − c))

the model's own accuracies renormalised over its tested tasks, shrunk by its coverage toward the prior π_t of the
untested tasks: the mean accuracy on task t of the candidates that were tested on it, less `router.untested_margin`
(no candidate tested on t: the candidates' mean over all their tested entries, less the margin). An untested entry
therefore reads neither as 0 nor as the model's own average but as what a tested peer scores there, less a margin:
of two models with the same record elsewhere, the one tested on the request's kind ranks first unless it is weaker
there than its peers by more than the margin. Algebraically the rule is the readout of a card whose untested entries
hold π_t, which is how it is computed; a full card is read exactly as before.

Example:
    accuracy = card_accuracies(cards, n_slots)  # (N, C) NaN where not tested, 0 for facts
    filled = fill_untested(accuracy, margin=0.05)  # what the readout weighs
"""

from collections.abc import Sequence

import torch

from modelsat.aptitude.cards import Card


def card_accuracies(cards: Sequence[Card], n_slots: int, device: torch.device | None = None) -> torch.Tensor:
    """(N, n_slots) the cards' task accuracies in aptitude order, NaN where not tested, 0 for the fact slots."""
    rows = []
    for card in cards:
        tasks = [float("nan") if s.accuracy is None else s.accuracy for s in card.scores]
        rows.append(tasks + [0.0] * (n_slots - len(tasks)))
    return torch.tensor(rows, device=device)


def untested_prior(accuracy: torch.Tensor, margin: float) -> torch.Tensor:
    """(C,) per slot, the mean accuracy of the candidates tested on it less `margin` (floored at 0); where none is,
    the mean of every tested entry of the candidates less `margin`. `accuracy`: (N, C), NaN where not tested."""
    tested = ~accuracy.isnan()
    counts = tested.sum(0)  # (C,)
    sums = accuracy.nan_to_num(0.0).sum(0)
    overall = sums.sum() / counts.sum().clamp(min=1)
    peer = torch.where(counts > 0, sums / counts.clamp(min=1), overall)
    return (peer - margin).clamp(min=0.0)


def fill_untested(accuracy: torch.Tensor, margin: float) -> torch.Tensor:
    """(N, C) `accuracy` with each untested (NaN) entry replaced by its `untested_prior`; unchanged when full."""
    untested = accuracy.isnan()
    if not untested.any():
        return accuracy
    return torch.where(untested, untested_prior(accuracy, margin).expand_as(accuracy), accuracy)
