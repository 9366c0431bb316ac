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
ZOOS: dict[str, tuple[str, ...] | None] = {"small-5": SMALL_5, "small": SMALL, "mixed": MIXED, "all": None}


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
