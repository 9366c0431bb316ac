"""Capability cards from the real MMLU-Pro outcomes: real strengths, facts, templates, fingerprints, bad files."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import (
    Card,
    build_cards,
    check_fingerprints,
    check_template,
    load_cards,
    merge_cards,
    save_cards,
)
from modelsat.aptitude.facts import load_facts
from modelsat.data.zoos import SMALL
from modelsat.errors import ConfigError, DataError

FACTS_YAML = """
models:
  mathstral-7B:
    parameters: 7.2B
    languages: [English, French]
    context_length: 32768
    price_input_per_1m: 0.25
    price_output_per_1m: 0.5
  Yi-6B:
    parameters: 6B
"""


@pytest.fixture(scope="module")
def cards(mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet) -> dict[str, Card]:
    """Cards of all 25 models on the default aptitude set."""
    return build_cards(mmlu_outcomes, aptitude, sorted(mmlu_outcomes["model"].unique()))


def accuracy(card: Card, subject: str) -> float:
    """A card's accuracy on one MMLU subject."""
    return next(s.accuracy for s in card.scores if s.task == f"mmlu/{subject}")


def first_task_accuracy(outcomes: pd.DataFrame, aptitude: AptitudeSet, model: str) -> float:
    """The model's mean score on the aptitude set's first task, straight from the outcomes."""
    rows = outcomes[(outcomes["model"] == model) & outcomes["query_id"].isin(aptitude.tasks[0].query_ids)]
    assert len(rows) == len(aptitude.tasks[0].query_ids)
    return float(rows["score"].mean())


def test_every_model_gets_a_card_with_50_task_clauses(
    cards: dict[str, Card], aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame
) -> None:
    assert len(cards) == 25
    for card in cards.values():
        assert [s.task for s in card.scores] == [t.name for t in aptitude.tasks]
        assert card.aptitude_fingerprint == aptitude.fingerprint
        assert len(card.clauses()) == 50
    expected = first_task_accuracy(mmlu_outcomes, aptitude, "mathstral-7B")
    assert aptitude.tasks[0].name == "mmlu/abstract_algebra"
    assert (
        cards["mathstral-7B"].clauses()[0]
        == f'accuracy {expected:.0%} on "Groups, Rings, Fields, Homomorphisms, Permutations"'
    )


def test_cards_reflect_real_strengths(
    cards: dict[str, Card], aptitude: AptitudeSet, mmlu_outcomes: pd.DataFrame
) -> None:
    rest = mmlu_outcomes[~mmlu_outcomes["query_id"].isin(aptitude.query_ids)]
    for model in ("mathstral-7B", "DeepSeek-Coder-V2", "Yi-6B", "gemini-1.5-pro-002"):
        on_card = pd.Series({s.task: s.accuracy for s in cards[model].scores})
        elsewhere = rest[rest["model"] == model].groupby("task")["score"].mean().loc[on_card.index]
        assert on_card.corr(elsewhere) > 0.3, model  # per-subject strengths match the subject's other questions
    coder = cards["DeepSeek-Coder-V2"]
    assert accuracy(coder, "high_school_computer_science") > coder.mean_accuracy
    assert accuracy(coder, "high_school_computer_science") > max(
        accuracy(cards[m], "high_school_computer_science") for m in SMALL
    )
    assert cards["Llama-2-70b-hf"].mean_accuracy > cards["Llama-2-13b-hf"].mean_accuracy
    assert cards["Llama-2-13b-hf"].mean_accuracy > cards["Llama-2-7b-hf"].mean_accuracy
    assert cards["Meta-Llama-3_1-70B-Instruct"].mean_accuracy > cards["Meta-Llama-3_1-8B"].mean_accuracy + 0.15


def test_facts_become_extra_clauses_after_the_tasks(
    mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet, tmp_path: Path
) -> None:
    (tmp_path / "zoo.yaml").write_text(FACTS_YAML)
    facts = load_facts(tmp_path / "zoo.yaml")
    cards = build_cards(mmlu_outcomes, aptitude, ["mathstral-7B", "Yi-6B", "Yi-6b-Chat"], facts=facts)
    assert cards["mathstral-7B"].clauses()[50:] == [
        "parameters: 7.2B",
        "languages: English, French",
        "context length: 32768 tokens",
        "price per 1M input tokens: $0.25",
        "price per 1M output tokens: $0.5",
    ]
    assert cards["Yi-6B"].clauses()[50:] == ["parameters: 6B"]
    assert len(cards["Yi-6b-Chat"].clauses()) == 50
    save_cards(cards, tmp_path / "cards.json")
    assert load_cards(tmp_path / "cards.json")["mathstral-7B"].facts == cards["mathstral-7B"].facts


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("models:\n  m:\n    context_length: lots\n", r"models\.m\.context_length: Input should be a valid integer"),
        ("models:\n  m:\n    price_input_per_1m: -1\n", r"models\.m\.price_input_per_1m: .*greater than or equal"),
        ("models:\n  m:\n    licence: MIT\n", r"models\.m\.licence: Extra inputs are not permitted"),
        ("zoo: []\n", r"models: Field required"),
        ("models: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_facts_name_the_field(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "zoo.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_facts(tmp_path / "zoo.yaml")


def test_template_is_configurable_and_saved_with_the_card(
    mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet, tmp_path: Path
) -> None:
    template = "{description}: {accuracy:.2f}"
    card = build_cards(mmlu_outcomes, aptitude, ["mathstral-7B"], template=template)["mathstral-7B"]
    expected = first_task_accuracy(mmlu_outcomes, aptitude, "mathstral-7B")
    assert card.clauses()[0] == f"Groups, Rings, Fields, Homomorphisms, Permutations: {expected:.2f}"
    save_cards({"mathstral-7B": card}, tmp_path / "cards.json")
    reloaded = load_cards(tmp_path / "cards.json")["mathstral-7B"]
    assert reloaded.render() == card.render() and reloaded.render().startswith("The model achieves Groups")
    with pytest.raises(ConfigError, match="--template .*KeyError"):
        check_template("{acc} on {description}")


def test_model_without_aptitude_answers_is_named(mmlu_outcomes: pd.DataFrame, aptitude: AptitudeSet) -> None:
    gone = aptitude.tasks[3].query_ids[:15]
    table = mmlu_outcomes[~((mmlu_outcomes["model"] == "Yi-6B") & mmlu_outcomes["query_id"].isin(gone))]
    with pytest.raises(
        DataError, match=rf"'Yi-6B' answered 5 of the 20 aptitude questions of {aptitude.tasks[3].name}"
    ):
        build_cards(table, aptitude, ["Yi-6B"])
    with pytest.raises(DataError, match="'no-such-model' answered 0 of the 20"):
        build_cards(table, aptitude, ["no-such-model"])


def test_fingerprint_mismatch_is_caught(cards: dict[str, Card], aptitude: AptitudeSet, tmp_path: Path) -> None:
    check_fingerprints(cards, aptitude)
    other = aptitude.first_tasks(10)
    with pytest.raises(DataError, match="made on another aptitude set"):
        check_fingerprints({"Yi-6B": cards["Yi-6B"]}, other)
    save_cards({"Yi-6B": cards["Yi-6B"]}, tmp_path / "cards.json")
    stranger = Card("new", other.fingerprint, cards["Yi-6B"].scores[:10])
    with pytest.raises(DataError, match="Yi-6B come from another aptitude set"):
        merge_cards({"new": stranger}, tmp_path / "cards.json")
    merged = merge_cards({"Mistral-7B-v0.1": cards["Mistral-7B-v0.1"]}, tmp_path / "cards.json")
    assert sorted(merged) == sorted(load_cards(tmp_path / "cards.json")) == ["Mistral-7B-v0.1", "Yi-6B"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"cards": {}}', "holds no cards"),
        ('{"cards": {"m": {"aptitude_fingerprint": "x"}}}', r"card 'm' is malformed \(field 'scores'\)"),
        ('{"cards": {"m": {"aptitude_fingerprint": "x", "scores": [{"task": "t"}]}}}', "card 'm' is malformed"),
    ],
)
def test_malformed_cards_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "cards.json").write_text(text)
    with pytest.raises(DataError, match=message):
        load_cards(tmp_path / "cards.json")
