"""Expert facts about models (parameters, languages, context length, price) read from a zoo YAML file.

The facts become extra card clauses after the aptitude clauses (Model-SAT §3.1 "expert knowledge").

Example zoo.yaml:
    models:
      mathstral-7B:
        parameters: 7.2B
        languages: [English]
        context_length: 32768
        price_input_per_1m: 0.25
        price_output_per_1m: 0.25

Example:
    facts = load_facts("zoo.yaml")  # {"mathstral-7B": {"parameters": "7.2B", ...}}
    cards = build_cards(outcomes, aptitude, ["mathstral-7B"], facts=facts)
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from modelsat.errors import ConfigError
from modelsat.io import read_yaml_model


class ModelFacts(BaseModel):
    """What is known about one model besides its aptitude test; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    parameters: str | None = Field(None, description="Model size as written for people, e.g. '7.2B' or '8x7B'.")
    languages: list[str] | None = Field(None, description="Natural languages the model handles well.")
    context_length: int | None = Field(None, gt=0, description="Context window in tokens.")
    price_input_per_1m: float | None = Field(None, ge=0, description="USD per 1M input tokens.")
    price_output_per_1m: float | None = Field(None, ge=0, description="USD per 1M output tokens.")

    def card_facts(self) -> dict[str, str]:
        """The given fields as card fact names and values, in field order."""
        rendered = {
            "parameters": self.parameters,
            "languages": ", ".join(self.languages) if self.languages else None,
            "context length": f"{self.context_length} tokens" if self.context_length else None,
            "price per 1M input tokens": _usd(self.price_input_per_1m),
            "price per 1M output tokens": _usd(self.price_output_per_1m),
        }
        return {name: value for name, value in rendered.items() if value is not None}


class ZooFacts(BaseModel):
    """A zoo file: facts per model name."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelFacts] = Field(description="Facts per model, keyed by the outcomes model name.")


def _usd(value: float | None) -> str | None:
    """'$0.25' or None."""
    return None if value is None else f"${value:g}"


def load_facts(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a zoo YAML file into card facts per model.

    Raises:
        ConfigError: naming the file and the offending field (e.g. `models.mathstral-7B.context_length`).
    """
    zoo = read_yaml_model(Path(path), ZooFacts, "facts", ConfigError)
    return {name: facts.card_facts() for name, facts in zoo.models.items()}
