"""Card builders for the router tests (the tiny random-weight router parts are in tests/conftest.py)."""

import pytest


@pytest.fixture
def make_card():
    """Build a card with the given per-task accuracies (three tasks)."""
    from modelsat.aptitude.cards import Card, TaskScore

    names = ["Algebra, Equations", "Law, Contracts", "Biology, Cells"]

    def build(model: str, accuracies: list[float]) -> Card:
        scores = [TaskScore(f"t{i}", names[i], a) for i, a in enumerate(accuracies)]
        return Card(model, "fp", scores)

    return build
