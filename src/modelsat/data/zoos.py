"""Named model zoos (DESIGN §3) and `--models a,b` resolution.

Example:
    models = resolve_zoo(outcomes["model"].unique(), zoo="small-5")
"""

from collections.abc import Iterable, Sequence
from difflib import get_close_matches

from modelsat.errors import ConfigError

SMALL_5 = (
    "Phi-3-mini-4k-instruct",
    "mathstral-7B",
    "Meta-Llama-3_1-8B",
    "Qwen1.5-7B-Chat",
    "Mistral-7B-Instruct-v0.2",
)
SMALL = SMALL_5 + (
    "Llama-2-7b-hf",
    "Meta-Llama-3-8B",
    "Mistral-7B-Instruct-v0.1",
    "Mistral-7B-v0.1",
    "Mistral-7B-v0.2-hf",
    "Yi-6B",
    "Yi-6b-Chat",
)
MIXED = SMALL_5 + ("Mixtral-8x7B-Instruct-v0.1", "c4ai-command-r-v01", "DeepSeek-Coder-V2")
SPECIALISTS = (  # the RouterDC paper's zoo (`import routerdc`)
    "Mistral-7B-v0.1",
    "MetaMath-Mistral-7B",
    "Chinese-Mistral-7B-v0.1",
    "zephyr-7b-beta",
    "dolphin-2.6-mistral-7b",
    "Meta-Llama-3-8B",
    "dolphin-2.9-llama3-8b",
)
CHAT = (  # AlpacaEval's chat models (`import alpaca-eval`); the baseline GPT-4 Turbo is judged against itself
    "FuseChat-Gemma-2-9B-Instruct",
    "FuseChat-Llama-3.1-8B-Instruct",
    "FuseChat-Llama-3.2-1B-Instruct",
    "Mixtral-8x7B-Instruct-v0.1_concise",
    "alpaca-7b",
    "alpaca-7b_concise",
    "alpaca-7b_verbose",
    "alpaca-farm-ppo-human",
    "alpaca-farm-ppo-sim-gpt4-20k",
    "baize-v2-13b",
    "chatglm2-6b",
    "claude",
    "claude-2",
    "claude-instant-1.2",
    "falcon-7b-instruct",
    "gemma-2b-it",
    "gpt-3.5-turbo-0301",
    "gpt35_turbo_instruct",
    "gpt4_0613_concise",
    "gpt4_1106_preview",
    "jina-chat",
    "minotaur-13b",
    "nous-hermes-13b",
    "oasst-rlhf-llama-33b",
    "oasst-sft-llama-33b",
    "oasst-sft-pythia-12b",
    "openbuddy-falcon-40b-v9",
    "openbuddy-llama-30b-v7.1",
    "openbuddy-llama2-13b-v11.1",
    "phi-2",
    "phi-2-sft",
    "pythia-12b-mix-sft",
    "text_davinci_001",
    "ultralm-13b",
    "vicuna-13b",
    "vicuna-7b",
    "vicuna-7b-v1.3",
    "vicuna-7b-v1.5",
)
ZOOS: dict[str, tuple[str, ...] | None] = {
    "small-5": SMALL_5,
    "small": SMALL,
    "mixed": MIXED,
    "specialists": SPECIALISTS,
    "chat": CHAT,
    "all": None,
}


def parse_models(text: str) -> list[str]:
    """Split a `--models a,b,c` value, dropping blanks."""
    return [m.strip() for m in text.split(",") if m.strip()]


def check_models(models: Iterable[str], available: Iterable[str]) -> list[str]:
    """Return `models` as a list, raising a `ConfigError` listing what exists for unknown names."""
    avail = sorted(set(available))
    models = list(models)
    unknown = [m for m in models if m not in avail]
    if unknown:
        hints = []
        for name in unknown:
            close = get_close_matches(name, avail, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"unknown model(s) {', '.join(hints)}; available: {', '.join(avail)}")
    return models


def resolve_zoo(
    available: Iterable[str], zoo: str | None = None, models: str | Sequence[str] | None = None
) -> list[str]:
    """Resolve `--zoo NAME` or `--models a,b` (exactly one, or neither = all) against `available`."""
    avail = sorted(set(available))
    if zoo and models:
        raise ConfigError("give either --zoo or --models, not both")
    if models:
        chosen = parse_models(models) if isinstance(models, str) else list(models)
        return check_models(chosen, avail)
    name = zoo or "all"
    if name not in ZOOS:
        raise ConfigError(f"unknown zoo {name!r}; named zoos: {', '.join(ZOOS)}")
    members = ZOOS[name]
    return avail if members is None else check_models(members, avail)
