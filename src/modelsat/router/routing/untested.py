"""How the accuracy readout reads a card's untested entries (docs/router.md, "Partial cards").

The readout weighs a card's task accuracies a_t by the request's similarity weights w_t over the core tasks. For a
partial card let m_t be 1 on its tested tasks and `coverage` c = Σ w_t m_t the share of the request's weight that
fell on them. The estimate is

    p = c · (Σ w_t m_t a_t / c)  +  (1 − c) · (Σ w_t (1 − m_t) π_t / (1 − c))

the model's own accuracies renormalised over its tested tasks, shrunk by its coverage toward a prior π_t for the
untested ones, never 0 and never the model's average over other kinds:

- the model was tested on other tasks of t's kind of request (`TaskScore.kind`) and some candidate was tested on t:
  the candidates' mean on t plus the model's standing on its tasks of that kind (its accuracy there less the mean
  of the other candidates tested on the same tasks, averaged), less δ. Accuracies on two tests of one kind are on
  two scales (MMLU's four options and MMLU-Pro's ten: a 7B model's 60 % on the one is 20 % on the other), so a
  model's own accuracy on another test is no estimate of t's; its standing against its peers is;
- tested on t's kind but compared with no other candidate there, or no candidate tested on t: its own mean over
  those tasks of t's kind, less δ;
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
    """(N, T) each entry's prior π (module docstring), less `margin`, within [0, 1]. `accuracy`: (N, T), NaN where
    not tested; `kinds`: (T,) each task's kind of request (None: one kind of its own)."""
    tested = (~accuracy.isnan()).to(accuracy.dtype)
    values = accuracy.nan_to_num(0.0)
    overall = values.sum() / tested.sum().clamp(min=1)
    counts, totals = tested.sum(0), values.sum(0)  # (T,)
    peer = torch.where(counts > 0, totals / counts.clamp(min=1), overall)  # (T,) the tested candidates' mean
    same = torch.tensor([[a == b for b in kinds] for a in kinds], dtype=accuracy.dtype)  # (T, T) same kind
    kind_counts = tested @ same  # (N, T) the model's tested tasks of each task's kind
    own_kind = (values @ same) / kind_counts.clamp(min=1)
    # the model against the other candidates tested on the same tasks: its standing, free of each test's difficulty
    others = counts - tested  # (N, T) other candidates tested on each task
    gap = torch.where(
        (tested > 0) & (others > 0), values - (totals - values) / others.clamp(min=1), torch.zeros_like(values)
    )
    compared = ((tested > 0) & (others > 0)).to(accuracy.dtype)
    n_compared = compared @ same  # (N, T) same-kind tasks on which the model was compared with others
    standing = (gap @ same) / n_compared.clamp(min=1)
    on_task = counts.expand_as(accuracy) > 0
    prior = torch.where(
        on_task & (n_compared > 0),
        peer.expand_as(accuracy) + standing,
        torch.where(kind_counts > 0, own_kind, peer.expand_as(accuracy)),
    )
    return (prior - margin).clamp(0.0, 1.0)


def fill_untested(accuracy: torch.Tensor, margin: float, kinds: Sequence[str | None]) -> torch.Tensor:
    """(N, T) `accuracy` with each untested (NaN) entry replaced by its `untested_prior`; unchanged when full."""
    untested = accuracy.isnan()
    if not untested.any():
        return accuracy
    return torch.where(untested, untested_prior(accuracy, margin, kinds), accuracy)
