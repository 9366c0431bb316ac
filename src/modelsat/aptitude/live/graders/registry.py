"""Which grader grades a question: task-label patterns mapped to grader kinds, and kinds to classes.

A question's own task label (the outcomes `task`, e.g. `gsm8k`, `mmlu/law`, `alpaca-eval/koala`)
chooses its grader: the first matching pattern (shell-style, `fnmatch`) of the user's rules
(`--grader 'PATTERN=KIND'`), then of plugins, then of the built-in table. A label no pattern
matches is multiple choice when its row has options, else ungradable.

Plugins register a grader class under the entry-point group `modelsat.graders` (name = kind,
value = "module:Class"); the class's `tasks` attribute lists the label patterns it grades.

Example:
    GRADERS.names()          # ['code', 'math', 'multiple-choice', 'open-ended']
    kind_for("math-prealgebra", rules=())  # 'math'
"""

from collections.abc import Sequence
from fnmatch import fnmatchcase

from modelsat.baselines.registry import Registry
from modelsat.errors import ConfigError

GRADERS = Registry(
    "grader",
    {
        "multiple-choice": "modelsat.aptitude.live.graders.choice:MultipleChoiceGrader",
        "math": "modelsat.aptitude.live.graders.math:MathGrader",
        "code": "modelsat.aptitude.live.graders.code:CodeGrader",
        "open-ended": "modelsat.aptitude.live.graders.judge:JudgeGrader",
    },
    entry_point_group="modelsat.graders",
)
BUILTIN_RULES: tuple[tuple[str, str], ...] = (
    ("mmlu*", "multiple-choice"),  # mmlu, mmlu/<subject>, mmlu-pro/<category>
    ("cmmlu", "multiple-choice"),
    ("ceval", "multiple-choice"),
    ("arc-*", "multiple-choice"),
    ("winogrande", "multiple-choice"),
    ("gsm8k", "math"),
    ("math-*", "math"),
    ("humaneval*", "code"),  # humaneval-js too: ungradable without Python tests
    ("mbpp", "code"),
    ("alpaca-eval/*", "open-ended"),
)


def parse_rules(specs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """`PATTERN=KIND` strings as (pattern, kind) rules, kinds checked against the registry.

    Raises:
        ConfigError: a spec without '=' or with an unknown kind.
    """
    rules = []
    for spec in specs:
        pattern, sep, kind = spec.partition("=")
        if not sep or not pattern.strip():
            raise ConfigError(f"--grader {spec!r}: expected PATTERN=KIND, e.g. 'my-math/*=math'")
        rules.append((pattern.strip(), GRADERS.check(kind.strip())))
    return tuple(rules)


def plugin_rules() -> tuple[tuple[str, str], ...]:
    """The (pattern, kind) rules of plugin graders: each class's `tasks` patterns."""
    builtin = {kind for _, kind in BUILTIN_RULES}
    return tuple(
        (pattern, kind)
        for kind in GRADERS.names()
        if kind not in builtin
        for pattern in getattr(GRADERS.get(kind), "tasks", ())
    )


def kind_for(label: str, rules: Sequence[tuple[str, str]], has_options: bool = False) -> str | None:
    """The grader kind for task label `label`: first matching rule, else multiple choice if it has options."""
    for pattern, kind in (*rules, *plugin_rules(), *BUILTIN_RULES):
        if fnmatchcase(label, pattern):
            return kind
    return "multiple-choice" if has_options else None
