"""Math grading: the final number of the reply, compared numerically with the reference.

The final answer is, in order: the last `\\boxed{...}`, the text after the last `#### `, the text
after the last "answer is", else the last number anywhere. Dollar signs, thousands separators,
percent signs and a trailing full stop are ignored; fractions (`3/4`, `\\frac{3}{4}`) are values.
So `\\boxed{18}`, `#### 18`, `18.0` and `$18` all match 18. The reference is the row's `answer`,
else GSM8K's own final answer for the same question text.

Example:
    final_number("She makes 9 * 2 = $18 every day.\\n#### 18")  # 18.0
"""

import math
import re
from collections.abc import Mapping
from typing import Any

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.references import ReferenceBook
from modelsat.aptitude.live.questions import Asked, Question

PROMPT = (
    "{question}\n\nSolve the problem step by step. End with the final answer as a number on its own line, "
    'in the form "#### <number>".'
)
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?|-?\.\d+")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(-?[\d.,]+)\s*\}\s*\{\s*(-?[\d.,]+)\s*\}")


def _boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} (braces balanced), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace + 1 : i]
    return None


def number_value(fragment: str) -> float | None:
    """The first number in `fragment` as a float (fractions divided), or None."""
    fragment = _FRAC.sub(r"\1/\2", fragment.replace("$", "").replace("\\!", ""))
    match = _NUMBER.search(fragment)
    if match is None:
        return None
    text = match.group(0).replace(",", "").replace(" ", "")
    numerator, _, denominator = text.partition("/")
    try:
        value = float(numerator)
        return value / float(denominator) if denominator else value
    except (ValueError, ZeroDivisionError):
        return None


def final_number(text: str) -> float | None:
    """The final answer of a worked solution as a number, or None when it states none."""
    for fragment in (_boxed(text), _after(text, "####"), _after(text, "answer is")):
        if fragment is not None and (value := number_value(fragment)) is not None:
            return value
    numbers = list(_NUMBER.finditer(_FRAC.sub(r"\1/\2", text.replace("$", ""))))
    return number_value(numbers[-1].group(0)) if numbers else None


def _after(text: str, marker: str) -> str | None:
    """The text after the last `marker` (case-insensitive) up to the end of its line, or None."""
    at = text.lower().rfind(marker)
    return text[at + len(marker) :].split("\n", 1)[0] if at >= 0 else None


def same_number(a: float, b: float) -> bool:
    """Numeric equality with a relative tolerance for rounding in floating-point answers."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


class MathGrader(Grader):
    """Right when the reply's final number equals the reference's; no number is `unparsed`."""

    kind = "math"
    max_tokens = 512

    def __init__(self, references: ReferenceBook | None = None) -> None:
        self.references = references or ReferenceBook(None)

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """The row's `answer` or GSM8K's final answer as the reference; it must be a number."""
        given = super().question(row, task)
        reference = given.reference if isinstance(given, Question) else self.references.gsm8k(str(row["prompt"]))
        if reference is None:
            return f"no reference answer for task {row['task']!r} (GSM8K's come from references/gsm8k/)"
        if number_value(reference) is None:
            return f"reference answer {reference[:40]!r} is not a number"
        return self.make(row, task, reference=reference)

    def prompt(self, question: Question) -> str:
        """The problem with an instruction to end on '#### <number>'."""
        return PROMPT.format(question=question.text.strip())

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """1 when the final numbers agree."""
        got = final_number(reply) if reply else None
        if got is None:
            return Verdict(0.0, "unparsed")
        want = number_value(item.question.reference or "")
        return Verdict(float(want is not None and same_number(got, want)), "graded", parsed=f"{got:g}")
