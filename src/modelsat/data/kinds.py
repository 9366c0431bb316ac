"""The kind of request a query is (knowledge, math, code, chinese, reasoning, chat), from its task label.

One rule for every zoo: the first pattern of `KIND_RULES` (shell-style, `fnmatch`, case-insensitive) that
matches the query's outcomes `task` gives its kind. The labels are those the importers write: MMLU-Pro's
`mmlu/<subject>` and `mmlu-pro/<category>`, RouterDC's `mmlu`, `gsm8k`, `math-prealgebra`, `humaneval`, `mbpp`,
`cmmlu`, `ceval`, `arc-challenge`, AlpacaEval's `alpaca-eval/<dataset>`, RouterBench's `eval_name`s (`mmlu-*`,
`hellaswag`, `winogrande`, `arc-challenge`, `grade-school-math`, `mbpp`, `mtbench`, ...). A label no rule matches
has no kind (None): a table of your own tasks still imports, and the unified aptitude test leaves it out.

Example:
    kind_of("mmlu-pro/physics")  # 'knowledge'
    kind_of("routerbench/hellaswag")  # None: the rule reads task labels, not query ids
    kinds_of(outcomes["task"])  # a Series of kinds aligned with the rows
"""

from fnmatch import fnmatchcase

import pandas as pd

from modelsat.errors import ConfigError

KINDS = ("knowledge", "math", "code", "chinese", "reasoning", "chat")
KIND_RULES: tuple[tuple[str, str], ...] = (
    ("cmmlu*", "chinese"),  # before mmlu*: CMMLU is a Chinese exam, not MMLU
    ("ceval*", "chinese"),
    ("c-eval*", "chinese"),
    ("mmlu*", "knowledge"),  # mmlu, mmlu/<subject>, mmlu-pro/<category>, RouterBench's mmlu-<subject>
    ("gsm8k*", "math"),
    ("grade-school-math*", "math"),
    ("math*", "math"),  # math-prealgebra, MATH
    ("humaneval*", "code"),
    ("mbpp*", "code"),
    ("arc*", "reasoning"),  # arc-challenge, arc-easy
    ("winogrande*", "reasoning"),
    ("hellaswag*", "reasoning"),
    ("alpaca-eval*", "chat"),
    ("mt-bench*", "chat"),
    ("mtbench*", "chat"),
)


def kind_of(task: str) -> str | None:
    """The kind of request of task label `task` (first matching `KIND_RULES` pattern), else None."""
    label = task.lower()
    return next((kind for pattern, kind in KIND_RULES if fnmatchcase(label, pattern)), None)


def kinds_of(tasks: pd.Series) -> pd.Series:
    """`kind_of` of each task label (each distinct label matched once)."""
    lookup = {task: kind_of(str(task)) for task in tasks.unique()}
    return pd.Series([lookup[task] for task in tasks], index=tasks.index, dtype=object)  # None, never NaN


def parse_kinds(text: str) -> tuple[str, ...]:
    """A comma-separated list of kinds, checked against `KINDS`.

    Raises:
        ConfigError: naming an unknown kind and the known ones.
    """
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        named = ", ".join(map(repr, unknown)) or "(none given)"
        raise ConfigError(f"--kinds: unknown kind(s) {named}; choose from {', '.join(KINDS)}")
    return kinds
