"""Shared fixtures: the real MMLU-Pro outcomes (imported once per session), the data folder, an
in-process `modelsat` runner, and tiny random-weight router parts (real tokenizers) for fast tests."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

from modelsat.data.importers import mmlu_pro
from modelsat.data.locate import data_dir
from modelsat.models.loading import resolve


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (`$MODELSAT_DATA` or ../shared/data)."""
    return data_dir()


@pytest.fixture(scope="session")
def mmlu_outcomes(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """All 25 MMLU-Pro models as one outcomes table (about 10 s, once per session)."""
    return mmlu_pro.load(shared_data / "mmlu-pro").outcomes


@pytest.fixture(scope="session")
def all_outcomes_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every zoo of the data folder as one table (`modelsat import all`'s library call, about a minute, once)."""
    from modelsat.data.importers import all_zoos
    from modelsat.data.schema import write_outcomes

    path = tmp_path_factory.mktemp("all") / "all.parquet"
    write_outcomes(all_zoos.load(shared_data).outcomes, path)
    return path


class CliResult(NamedTuple):
    """Exit code and captured output of one `modelsat` call."""

    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `modelsat ARGS...` through the real entry point (error boundary included), in process."""
    from modelsat.cli.main import main  # the whole CLI; imported here so library tests run without it

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["modelsat", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture(scope="session")
def tiny_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Folders holding a 2-layer Llama (SmolLM2 tokenizer) and a 2-layer BERT (MiniLM tokenizer)."""
    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    llm_tok = AutoTokenizer.from_pretrained(resolve("smollm2"))
    llm = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(llm_tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
        )
    )
    llm.save_pretrained(root / "llm")
    llm_tok.save_pretrained(root / "llm")
    enc_tok = AutoTokenizer.from_pretrained(resolve("minilm"))
    enc = BertModel(
        BertConfig(
            vocab_size=enc_tok.vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )
    enc.save_pretrained(root / "enc")
    enc_tok.save_pretrained(root / "enc")
    return {"llm": str(Path(root / "llm")), "encoder": str(Path(root / "enc"))}
