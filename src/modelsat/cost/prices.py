"""Zoo price files: USD per 1M input/output tokens per model, each with a cited source.

A query's cost is estimated as prompt tokens × input price + expected output tokens × output
price. Prompt tokens are counted as ceil(characters / `chars_per_token`) (about 4 characters per
token for English with BPE tokenizers), so no tokenizer is needed at routing time.

Example prices.yaml:
    date: 2024-10-01                 # when the prices were read
    expected_output_tokens: 256      # completion length assumed per query
    models:
      Mixtral-8x7B-Instruct-v0.1:
        input: 0.60
        output: 0.60
        source: https://www.together.ai/pricing

Example:
    prices = load_prices("prices.yaml")
    prices.estimate(["Solve 3x + 7 = 22."], ["Mixtral-8x7B-Instruct-v0.1"])  # array([[0.0001...]])
"""

import datetime
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from modelsat.errors import ConfigError, DataError
from modelsat.io import read_yaml_model


class ModelPrice(BaseModel):
    """List price of one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M input (prompt) tokens.")
    output: float = Field(ge=0, description="USD per 1M output (completion) tokens.")
    source: str = Field(min_length=1, description="Where the price comes from: a URL, or the assumption made.")
    note: str | None = Field(None, description="Anything a reader should know (e.g. which provider's variant).")


class PriceTable(BaseModel):
    """A prices file: one `ModelPrice` per outcomes model name, plus how queries are costed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: datetime.date | str | None = Field(None, description="When the prices were read.")
    expected_output_tokens: int = Field(256, gt=0, description="Completion tokens assumed per query.")
    chars_per_token: float = Field(4.0, gt=0, description="Characters per prompt token in the estimate.")
    models: dict[str, ModelPrice] = Field(min_length=1, description="Price per model, keyed by model name.")

    def check(self, models: Sequence[str], origin: str = "prices") -> None:
        """Raise ConfigError naming `origin` when a model in `models` has no price."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise ConfigError(
                f"{origin}: no price for model(s) {', '.join(missing)}; priced: {', '.join(sorted(self.models))}"
            )

    def estimate(self, texts: Sequence[str], models: Sequence[str], output_tokens: int | None = None) -> np.ndarray:
        """(len(texts), len(models)) estimated USD per query; `output_tokens` overrides the file's default."""
        self.check(models)
        out = self.expected_output_tokens if output_tokens is None else output_tokens
        tokens_in = np.array([math.ceil(len(t) / self.chars_per_token) for t in texts], dtype=np.float64)
        price_in = np.array([self.models[m].input for m in models])
        price_out = np.array([self.models[m].output for m in models])
        return (tokens_in[:, None] * price_in[None, :] + out * price_out[None, :]) / 1e6


def load_prices(path: str | Path) -> PriceTable:
    """Read and validate a prices file.

    Raises:
        DataError: naming the file and each bad field (e.g. `models.Yi-6B.input: Input should be ...`).
    """
    return read_yaml_model(Path(path), PriceTable, "prices", DataError)
