"""The readout a router routes with: a task classifier or prototypes, chosen on validation and stored with it."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from modelsat.errors import RouterError
from modelsat.router.routing.capability import AccuracyReadout
from modelsat.router.routing.readout_choice import (
    READOUT_FILE,
    ReadoutChoice,
    choose_readout,
    fit_classifier,
    group_of,
    load_readout_choice,
    paired_standard_error,
    pick,
    significance_threshold,
)
from modelsat.router.routing.service import load_router

ROUTERS = Path(__file__).resolve().parents[3] / "routers"


def test_groups_are_a_core_task_or_the_dataset_of_numbered_clusters() -> None:
    assert group_of("gsm8k/01", "dataset") == "gsm8k" and group_of("gsm8k/01", "task") == "gsm8k/01"
    assert group_of("mmlu/abstract_algebra", "dataset") == "mmlu/abstract_algebra"
    assert group_of("humaneval", "dataset") == "humaneval"


def _choice(classes: list[str], coef: list[list[float]], grouping: str = "task") -> ReadoutChoice:
    return ReadoutChoice(
        kind="classifier",
        grouping=grouping,  # type: ignore[arg-type]
        inverse_regularisation=1.0,
        classes=tuple(classes),
        coef=torch.tensor(coef),
        intercept=torch.zeros(len(classes)),
    )


def test_a_classifier_readout_weighs_each_group_by_the_requests_posterior(make_card) -> None:
    choice = _choice(["t0", "t1", "t2"], [[8.0, 0.0], [0.0, 8.0], [-8.0, -8.0]])
    cards = [make_card("a", [0.9, 0.2, 0.5]), make_card("b", [0.3, 0.8, 0.5])]
    readout = AccuracyReadout()
    choice.install(readout)
    keys = choice.keys(cards, 4)  # three task clauses and one fact
    assert keys.shape == (2, 4, 3) and keys[:, 3].abs().sum() == 0 and torch.equal(keys[0, :3], torch.eye(3))
    instructions = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    accuracy = torch.tensor([[0.9, 0.2, 0.5, 0.0], [0.3, 0.8, 0.5, 0.0]])
    with torch.no_grad():
        scores = readout(instructions, keys, accuracy, torch.tensor([[0.0, 0, 0, 1]] * 2))
    posterior = torch.softmax(torch.tensor([[8.0, 0.0, -8.0], [0.0, 8.0, -8.0]]), -1)
    expected = torch.logit(posterior @ accuracy[:, :3].T)
    assert scores == pytest.approx(expected.numpy(), abs=1e-4)
    assert scores.argmax(1).tolist() == [0, 1]  # the algebra request to a, the law request to b


def test_a_dataset_group_shares_its_weight_among_its_clusters(make_card) -> None:
    from modelsat.aptitude.cards import Card, TaskScore

    card = Card("m", "fp", [TaskScore(t, t, a) for t, a in [("gsm8k/00", 0.6), ("gsm8k/01", 0.8), ("mmlu/00", 0.4)]])
    keys = _choice(["gsm8k", "mmlu"], [[1.0], [-1.0]], grouping="dataset").keys([card], 3)
    assert keys[0].tolist() == [[0.5, 0.0], [0.5, 0.0], [0.0, 1.0]]
    with pytest.raises(RouterError, match="unknown to this router's readout classifier"):
        _choice(["gsm8k"], [[1.0]], grouping="dataset").keys([card], 3)


def test_a_kind_classifier_places_the_request_by_kind_and_among_its_tasks_by_similarity() -> None:
    from modelsat.aptitude.cards import Card, TaskScore

    tasks = [("k/00", "knowledge"), ("k/01", "knowledge"), ("m/00", "math")]
    cards = [
        Card(name, "fp", [TaskScore(t, t, a, kind=k) for (t, k), a in zip(tasks, accuracies, strict=True)])
        for name, accuracies in (("a", [0.9, 0.1, 0.2]), ("b", [0.2, 0.7, 0.8]))
    ]
    prototypes = {"k/00": torch.tensor([1.0, 0.0]), "k/01": torch.tensor([0.0, 1.0]), "m/00": torch.tensor([0.6, 0.8])}
    choice = _choice(["knowledge", "math"], [[3.0, 0.0], [0.0, 3.0]], grouping="kind")
    assert choice.label == "classifier by kind (prototypes within), C 1"
    keys = choice.keys(cards, 4, prototypes)  # three task clauses and one fact
    assert keys.shape == (2, 4, 4) and keys[:, 3].abs().sum() == 0
    assert keys[0, :, 2:].tolist() == [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]  # one-hot kinds
    with pytest.raises(RouterError, match="reads task prototypes"):
        choice.keys(cards, 4)
    readout = AccuracyReadout(temperature=10.0)
    choice.install(readout)
    assert readout.within_groups
    instructions = torch.tensor([[1.0, 0.2], [0.1, 1.0]])
    accuracy = torch.tensor([[0.9, 0.1, 0.2, 0.0], [0.2, 0.7, 0.8, 0.0]])
    prior = torch.tensor([[0.0, 0.0, 0.0, float("-inf")]] * 2)
    with torch.no_grad():
        scores = readout(instructions, keys, accuracy, prior)
    unit = torch.nn.functional.normalize(instructions, dim=-1)
    posterior = torch.softmax(unit @ torch.tensor([[3.0, 0.0], [0.0, 3.0]]).T, -1)  # (B, kinds), unit embeddings
    within = torch.softmax(10 * unit @ torch.stack([prototypes["k/00"], prototypes["k/01"]]).T, -1)  # knowledge
    weights = torch.cat([posterior[:, :1] * within, posterior[:, 1:]], dim=1)  # (B, 3): math has one task
    assert scores == pytest.approx(torch.logit(weights @ accuracy[:, :3].T).numpy(), abs=1e-4)
    assert scores.argmax(1).tolist() == [0, 1]
    # no candidate tested on math: its share of the posterior goes to the knowledge tasks
    with torch.no_grad():
        closed = readout(instructions, keys, accuracy, torch.tensor([[0.0, 0.0, float("-inf"), float("-inf")]] * 2))
    assert closed == pytest.approx(torch.logit(within @ accuracy[:, :2].T).numpy(), abs=1e-4)


def test_fitted_classifier_reproduces_sklearn_for_two_and_more_classes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    for tasks in (["a/00"] * 30 + ["b/00"] * 30, ["a/00"] * 20 + ["b/00"] * 20 + ["c"] * 20):
        choice = fit_classifier(x, tasks, "dataset", 10.0)
        assert choice is not None
        reference = LogisticRegression(C=10.0, max_iter=5000).fit(normalize(x), [group_of(t, "dataset") for t in tasks])
        readout = AccuracyReadout()
        choice.install(readout)
        assert readout.groups is not None
        posterior = readout.groups(torch.as_tensor(x, dtype=torch.float32)).numpy()
        assert posterior == pytest.approx(reference.predict_proba(normalize(x)), abs=1e-4)
    assert fit_classifier(x, ["a/00"] * 60, "dataset", 10.0) is None
    kinds = ["knowledge"] * 50 + ["code"] * 10  # kinds weigh alike whatever their number of questions
    by_kind = fit_classifier(x, [f"t{i % 5}" for i in range(60)], "kind", 10.0, kinds)
    assert by_kind is not None and by_kind.classes == ("code", "knowledge")
    balanced = LogisticRegression(C=10.0, max_iter=5000, class_weight="balanced").fit(normalize(x), kinds)
    readout = AccuracyReadout()
    by_kind.install(readout)
    posterior = readout.groups(torch.as_tensor(x, dtype=torch.float32)).numpy()
    assert posterior == pytest.approx(balanced.predict_proba(normalize(x)), abs=1e-4)
    with pytest.raises(RouterError, match="needs each aptitude question's kind"):
        fit_classifier(x, ["a/00"] * 60, "kind", 10.0)


def test_choices_round_trip_and_a_broken_file_names_itself(tmp_path: Path) -> None:
    classifier = _choice(["t0", "t1"], [[1.0, 2.0], [3.0, 4.0]])
    figures = {"validation": {classifier.label: 51.5}, "validation_by_zoo": {classifier.label: {"chat": 55.0}}}
    classifier = ReadoutChoice(**{**classifier.__dict__, **figures})
    classifier.save(tmp_path / READOUT_FILE)
    loaded = load_readout_choice(tmp_path)
    assert loaded is not None and loaded.label == "classifier by task, C 1" and loaded.classes == ("t0", "t1")
    assert torch.equal(loaded.coef, classifier.coef) and loaded.validation == {"classifier by task, C 1": 51.5}
    assert loaded.validation_by_zoo == {"classifier by task, C 1": {"chat": 55.0}}
    sharper = ReadoutChoice(kind="prototypes", temperature=40.0)
    sharper.save(tmp_path / READOUT_FILE)
    readout = AccuracyReadout(temperature=10.0)
    load_readout_choice(tmp_path).install(readout)
    assert math.exp(readout.log_temperature.item()) == pytest.approx(40.0) and readout.groups is None
    (tmp_path / READOUT_FILE).write_bytes(b"not safetensors")
    with pytest.raises(RouterError, match=r"readout\.safetensors: not a readout choice"):
        load_readout_choice(tmp_path)
    assert load_readout_choice(tmp_path / "missing") is None


def test_the_trained_readout_is_kept_unless_a_gain_is_significant_after_correction() -> None:
    found = [ReadoutChoice(kind="prototypes")] + [ReadoutChoice(kind="prototypes", temperature=t) for t in (20, 40)]
    trained, sharp, sharper = (c.label for c in found)
    assert significance_threshold(6) == pytest.approx(2.394, abs=1e-3) and significance_threshold(1) > 1.64
    # +0.81 at 0.45 standard error: 1.8 SE, significant alone (1.64) but not among two alternatives (1.96)
    noisy = {trained: 56.20, sharp: 56.68, sharper: 57.01}
    assert pick(found, noisy, {trained: 0.0, sharp: 0.30, sharper: 0.45}).label == trained
    clear = {trained: 56.20, sharp: 57.50, sharper: 57.90}
    assert pick(found, clear, {trained: 0.0, sharp: 0.30, sharper: 0.60}).label == sharper  # 2.8 SE, most accurate
    assert pick(found, clear, {trained: 0.0, sharp: 0.30, sharper: 0.90}).label == sharp  # only one significant
    assert pick(found, {trained: 58.0, sharp: 57.0, sharper: 57.5}, {trained: 0, sharp: 0.1, sharper: 0.1}) == found[0]
    # several zoos: of the significant gains, the one whose worst zoo gains most among the zoo's own models
    by_zoo = {
        trained: {"chat": 16.5, "mmlu-pro": 59.0},
        sharp: {"chat": 16.5, "mmlu-pro": 59.4},
        sharper: {"chat": 15.9, "mmlu-pro": 60.2},
    }
    assert pick(found, clear, {trained: 0.0, sharp: 0.30, sharper: 0.60}, by_zoo).label == sharp
    assert pick(found, clear, {trained: 0.0, sharp: 0.90, sharper: 0.60}, by_zoo).label == sharper  # sharp: noise


def test_paired_standard_error_is_that_of_the_weighted_mean_difference() -> None:
    rng = np.random.default_rng(0)
    difference = rng.choice([-1.0, 0.0, 1.0], size=400, p=[0.1, 0.8, 0.1])
    uniform = np.full(400, 1 / 400)
    assert paired_standard_error(difference, uniform) == pytest.approx(100 * difference.std(ddof=1) / 20)
    assert paired_standard_error(np.zeros(400), uniform) == 0.0


@pytest.mark.slow
def test_specialists_router_routes_with_the_readout_chosen_on_its_validation_split(shared_data: Path) -> None:
    from modelsat.data.importers import routerdc

    stored = load_readout_choice(ROUTERS / "specialists")
    assert (
        stored is not None
        and stored.label in stored.validation
        and set(stored.standard_error) == set(stored.validation)
    )
    trained = "prototypes (as trained)"
    threshold = significance_threshold(len(stored.validation) - 1)
    gains = {
        label: (figure - stored.validation[trained]) / stored.standard_error[label]
        for label, figure in stored.validation.items()
        if label != trained and stored.standard_error[label] > 0
    }
    assert stored.label == trained or gains[stored.label] > threshold
    assert stored.label != trained or all(gain <= threshold for gain in gains.values())
    outcomes: pd.DataFrame = routerdc.load(shared_data / "routerdc").outcomes
    again = choose_readout(ROUTERS / "specialists", outcomes, progress=False)
    assert again.label == stored.label and again.validation == stored.validation
    assert again.standard_error == stored.standard_error
    fast = load_router(ROUTERS / "specialists", mode="fast")
    full = fast.with_mode("full")
    assert fast.scorer.choice is not None and fast.scorer.choice.label == stored.label
    assert full.scorer.net.readout_choice is not None and full.scorer.net.readout_choice.label == stored.label
    assert (fast.scorer.capability.readout.groups is not None) == (stored.kind == "classifier")
