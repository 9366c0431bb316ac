"""How the accuracy readout reads a card's untested entries (docs/router.md, "Partial cards").

The readout weighs a card's task accuracies a_t by the request's similarity weights w_t over the core tasks. For a
partial card let m_t be 1 on its tested tasks and `coverage` c = Σ w_t m_t the share of the request's weight that
fell on them. The estimate is

    p = c · (Σ w_t m_t a_t / c)  +  (1 − c) · (Σ w_t (1 − m_t) π_t / (1 − c))

the model's own accuracies renormalised over its tested tasks, shrunk by its coverage toward a prior π_t for the
untested ones, never 0 and never the model's average over other kinds:

- the model was tested on other tasks of t's kind of request (`TaskScore.kind`): its mean over those, less δ;
- else (a kind it was not tested on at all): the mean accuracy on t of the candidates tested on t, less δ (no
  candidate tested on t: the candidates' mean over all their tested entries, less δ);

δ = `router.untested_margin`, so of two models with the same record the one tested on the request's kind ranks
first. Algebraically the rule is the readout of a card whose untested entries hold π_t, which is how it is
computed; a full card is read exactly as before.

Example:
    accuracy = card_accuracies(cards)  # (N, T) NaN where not tested
    filled = fill_untested(accuracy, 0.02, [s.kind for s in cards[0].scores])
"""

from collections.abc import Sequence

import torch

from modelsat.aptitude.cards import Card


def card_accuracies(cards: Sequence[Card], device: torch.device | None = None) -> torch.Tensor:
    """(N, T) the cards' task accuracies in aptitude order, NaN where not tested."""
    return torch.tensor(
        [[float("nan") if s.accuracy is None else s.accuracy for s in card.scores] for card in cards], device=device
    )


def untested_prior(accuracy: torch.Tensor, margin: float, kinds: Sequence[str | None]) -> torch.Tensor:
    """(N, T) each entry's prior π (module docstring): the model's mean over its tested tasks of the same kind, else
    the tested candidates' mean on the task, else their mean over all tested entries; less `margin`, floored at 0.
    `accuracy`: (N, T), NaN where not tested; `kinds`: (T,) each task's kind of request (None: one kind of its own)."""
    tested = (~accuracy.isnan()).float()
    values = accuracy.nan_to_num(0.0)
    overall = values.sum() / tested.sum().clamp(min=1)
    counts = tested.sum(0)  # (T,)
    peer = torch.where(counts > 0, values.sum(0) / counts.clamp(min=1), overall)  # (T,)
    same = torch.tensor([[a == b for b in kinds] for a in kinds], dtype=accuracy.dtype)  # (T, T) same kind
    kind_counts = tested @ same  # (N, T) the model's tested tasks of each task's kind
    own_kind = (values @ same) / kind_counts.clamp(min=1)
    prior = torch.where(kind_counts > 0, own_kind, peer.expand_as(accuracy))
    return (prior - margin).clamp(min=0.0)


def fill_untested(accuracy: torch.Tensor, margin: float, kinds: Sequence[str | None]) -> torch.Tensor:
    """(N, T) `accuracy` with each untested (NaN) entry replaced by its `untested_prior`; unchanged when full."""
    untested = accuracy.isnan()
    if not untested.any():
        return accuracy
    return torch.where(untested, untested_prior(accuracy, margin, kinds), accuracy)
