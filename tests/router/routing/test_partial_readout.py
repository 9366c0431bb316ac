"""The accuracy readout on partial cards, with the shipped specialists router and real GSM8K and CMMLU questions: an
entry of a kind the model was not tested on reads as the tested candidates' mean less `router.untested_margin`
(docs/router.md, "Partial cards"), never as 0 nor as the model's own average; full cards read exactly as before."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from modelsat.aptitude.cards import Card, TaskScore, load_cards
from modelsat.router.routing.capability import readout_inputs
from modelsat.router.routing.fast import FastScorer
from modelsat.router.routing.folder import RouterFolder
from modelsat.router.routing.untested import card_accuracies, fill_untested

SPECIALISTS = Path(__file__).resolve().parents[3] / "routers" / "specialists"
MATH = ("gsm8k/00", "gsm8k/01")


@pytest.fixture(scope="module")
def scorer() -> FastScorer:
    return FastScorer.load(RouterFolder.read(SPECIALISTS))


@pytest.fixture(scope="module")
def cards() -> list[Card]:
    return list(load_cards(SPECIALISTS / "cards.json").values())


def questions(shared_data: Path, name: str, n: int = 8) -> list[str]:
    return [item["question"] for item in json.loads((shared_data / "routerdc" / name).read_text())[:n]]


def untested(card: Card, tasks, name: str | None = None) -> Card:
    """`card` (renamed to `name`) with `tasks` not tested."""
    scores = [TaskScore(s.task, s.description, None) if s.task in tasks else s for s in card.scores]
    return replace(card, model=name or card.model, scores=scores)


def with_accuracy(card: Card, tasks, value: float, name: str) -> Card:
    scores = [TaskScore(s.task, s.description, value) if s.task in tasks else s for s in card.scores]
    return replace(card, model=name, scores=scores)


def readout_of(scorer: FastScorer, texts: list[str], cards: list[Card], accuracy: torch.Tensor) -> np.ndarray:
    """(B, N) the router's readout of `cards` with `accuracy` (N, C) as the numbers it weighs."""
    side = scorer.prepare(cards)
    with torch.no_grad():
        embedded = scorer.capability.embed_texts(texts).float()
        return scorer.capability.readout(embedded, side.keys, accuracy, side.prior).numpy()


def test_an_untested_entry_reads_as_the_tested_peers_mean_less_the_margin_not_zero_nor_the_own_average(
    scorer: FastScorer, cards: list[Card], shared_data: Path
) -> None:
    texts = questions(shared_data, "gsm8k-test.json")
    partial = [untested(cards[0], MATH)] + cards[1:]
    got = scorer.scores(texts, scorer.prepare(partial))[:, 0]
    raw = card_accuracies(partial)
    assert partial[0].n_slots == raw.shape[1]  # no facts: the readout's slots are the tasks
    math = [i for i, s in enumerate(partial[0].scores) if s.task in MATH]
    margin = scorer.cfg.untested_margin
    by_rule, zero, own = raw.clone(), raw.clone(), raw.clone()
    for t in math:
        by_rule[0, t] = np.mean([c.scores[t].accuracy for c in cards[1:]]) - margin
        zero[0, t], own[0, t] = 0.0, partial[0].mean_accuracy
    np.testing.assert_allclose(got, readout_of(scorer, texts, partial, by_rule)[:, 0], atol=1e-5)
    for wrong in (zero, own):  # far from what the rule reads on math questions
        assert np.abs(readout_of(scorer, texts, partial, wrong)[:, 0] - got).min() > 0.05


def test_a_model_tested_on_the_requests_kind_ranks_above_an_untested_one_of_equal_record(
    scorer: FastScorer, cards: list[Card], shared_data: Path
) -> None:
    level = float(np.mean([s.accuracy for c in cards for s in c.scores if s.task in MATH]))
    zoo = [with_accuracy(c, MATH, level, c.model) for c in cards]  # every candidate at one level on math
    tested, untested_twin = zoo[0], untested(zoo[0], MATH, "twin")
    math, chinese = questions(shared_data, "gsm8k-test.json"), questions(shared_data, "cmmlu_test.json")
    side = scorer.prepare([tested, untested_twin, *zoo[1:]])
    on_math, on_chinese = scorer.scores(math, side), scorer.scores(chinese, side)
    assert (on_math[:, 0] > on_math[:, 1] + 0.02).all()  # the twin reads the peers' level less the margin
    assert (np.abs(on_chinese[:, 0] - on_chinese[:, 1]) < np.abs(on_math[:, 0] - on_math[:, 1])).all()
    # Tested but weaker than its peers there by more than the margin: the untested twin ranks first.
    weak = with_accuracy(zoo[0], MATH, level - 3 * scorer.cfg.untested_margin, "weak")
    side = scorer.prepare([weak, untested_twin, *zoo[1:]])
    on_math = scorer.scores(math, side)
    assert (on_math[:, 1] > on_math[:, 0]).all()


def test_full_cards_read_their_accuracies_unchanged(cards: list[Card]) -> None:
    raw = card_accuracies(cards)
    assert fill_untested(raw, 0.05, [s.task for s in cards[0].scores]) is raw
    accuracy, prior = readout_inputs(cards, cards[0].n_slots, torch.device("cpu"), 0.05)
    expected = torch.tensor([[s.accuracy for s in c.scores] for c in cards])
    assert torch.equal(accuracy, expected) and torch.equal(prior, torch.zeros_like(prior))


def test_the_prior_is_the_models_own_kind_then_the_peers_on_the_task_then_the_peers_overall() -> None:
    nan = float("nan")
    accuracy = torch.tensor([[0.8, nan, 0.6], [0.4, nan, nan]])
    # Tested on another math task: the model's own math mean; never tested on code: the peers' code mean.
    by_kind = fill_untested(accuracy, 0.1, ["math", "math", "code"])
    torch.testing.assert_close(by_kind, torch.tensor([[0.8, 0.7, 0.6], [0.4, 0.3, 0.5]]))
    # Every task a kind of its own: the peers on the task, and where none was tested their overall mean.
    overall = (0.8 + 0.6 + 0.4) / 3
    by_task = fill_untested(accuracy, 0.1, ["a", "b", "c"])
    torch.testing.assert_close(by_task, torch.tensor([[0.8, overall - 0.1, 0.6], [0.4, overall - 0.1, 0.5]]))


def test_a_model_tested_on_another_test_of_the_kind_reads_by_its_standing_not_its_accuracy_there() -> None:
    nan = float("nan")
    # Two zoos tested on two knowledge tests: an easy one (task 0) and a hard one (task 1).
    accuracy = torch.tensor([[0.9, nan], [0.7, nan], [nan, 0.5], [nan, 0.3]])
    filled = fill_untested(accuracy, 0.1, ["knowledge", "knowledge"])
    # The easy test's best model stands 0.2 above its peer: on the hard test, the hard test's mean (0.4) + 0.2 − δ,
    # below the hard test's own best (0.5), where its own 0.9 would have put it far above.
    torch.testing.assert_close(filled[:, 1], torch.tensor([0.5, 0.1, 0.5, 0.3]))
    torch.testing.assert_close(filled[:, 0], torch.tensor([0.9, 0.7, 0.9, 0.5]))
