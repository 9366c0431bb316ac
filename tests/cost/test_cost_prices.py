"""Price files: the shipped `mixed` prices, cost estimates, and errors that name the file and field."""

from pathlib import Path

import numpy as np
import pytest

from modelsat.cost.prices import load_prices
from modelsat.data.zoos import MIXED
from modelsat.errors import ConfigError, DataError

MIXED_PRICES = Path(__file__).parents[2] / "configs" / "prices" / "mixed.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    return path


def test_mixed_prices_cover_the_mixed_zoo_and_cite_sources() -> None:
    prices = load_prices(MIXED_PRICES)
    prices.check(MIXED)
    assert all(p.source.startswith("https://") for p in prices.models.values())
    assert prices.expected_output_tokens == 256


def test_estimate_is_prompt_tokens_times_input_plus_output_tokens_times_output(tmp_path: Path) -> None:
    path = write(tmp_path, "expected_output_tokens: 100\nmodels:\n  a: {input: 1.0, output: 2.0, source: x}\n")
    prices = load_prices(path)
    cost = prices.estimate(["x" * 400, "y"], ["a"])  # 100 and 1 input tokens
    assert np.allclose(cost, [[(100 * 1.0 + 100 * 2.0) / 1e6], [(1 * 1.0 + 100 * 2.0) / 1e6]])
    assert np.allclose(prices.estimate(["y"], ["a"], output_tokens=10), [[(1 + 20) / 1e6]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models:\n  a: {input: 1, output: 1}\n", r"prices\.yaml: models\.a\.source: Field required"),
        ("models:\n  a: {input: -1, output: 1, source: x}\n", r"prices\.yaml: models\.a\.input: Input should be"),
        ("models:\n  a: {input: 1, output: 1, source: x, cost: 2}\n", r"models\.a\.cost: Extra inputs"),
        ("modles: {}\n", r"prices\.yaml: models: Field required; modles: Extra inputs"),
        ("models: {}\n", r"prices\.yaml: models: Dictionary should have at least 1 item"),
        ("models: [a\n", r"prices\.yaml: not valid YAML"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_prices(write(tmp_path, text))


def test_missing_file_and_unpriced_model(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.yaml: no such prices file"):
        load_prices(tmp_path / "nope.yaml")
    prices = load_prices(MIXED_PRICES)
    with pytest.raises(ConfigError, match="no price for model\\(s\\) Yi-6B"):
        prices.estimate(["q"], ["Yi-6B"])
