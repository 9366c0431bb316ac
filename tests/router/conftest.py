"""Tiny random-weight router parts (real tokenizers, in-memory-sized models) for fast unit tests."""

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

from modelsat.models.loading import resolve


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


@pytest.fixture
def make_card():
    """Build a card with the given per-task accuracies (three tasks)."""
    from modelsat.aptitude.cards import Card, TaskScore

    names = ["Algebra, Equations", "Law, Contracts", "Biology, Cells"]

    def build(model: str, accuracies: list[float]) -> Card:
        scores = [TaskScore(f"t{i}", names[i], a) for i, a in enumerate(accuracies)]
        return Card(model, "fp", scores)

    return build
