"""Math grading: the final answer of the reply, compared with the reference as a number or as an expression.

The final answer is, in order: the last `\\boxed{...}`, the text after the last `#### `, the text
after the last "answer is", else the last number anywhere. Both answers are first written the way
MATH's own `is_equiv` writes them (hendrycks/math, `strip_string`): no spaces, `\\!`, `\\left`/`\\right`,
dollar and percent signs or degree marks, units in a trailing `\\text{ ...}`; `\\dfrac`/`\\tfrac` as
`\\frac`, `\\frac12` as `\\frac{1}{2}`, `\\sqrt2` as `\\sqrt{2}`, `x = 5` as `5`. A reference that is then
a number or a fraction (`18`, `\\$7.50`, `25\\%`, `-\\frac{16}{63}`) is compared numerically, with a 10⁻⁶
relative tolerance: `\\boxed{18}`, `#### 18`, `18.0` and `$18` all match 18, and a boxed answer must be
a number itself (`\\boxed{4\\sqrt{2}}` is not 4). Any other reference (`4\\sqrt{2}`, `\\text{east}`,
`5x-3`) must equal the reply's boxed (or `####`, "answer is") answer so written. The reference is the
row's `answer`, else the RouterDC answer key (MATH: its solution's last boxed answer), else GSM8K's own
final answer for the same question text. MATH questions (labels `math*`) ask for a boxed answer, others
for `#### <number>`.

Example:
    final_number("She makes 9 * 2 = $18 every day.\\n#### 18")  # 18.0
    normalize_answer("\\dfrac 12")  # '\\frac{1}{2}'
"""

import math
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.references import AnswerKey, ReferenceBook
from modelsat.aptitude.live.questions import Asked, Question

PROMPT = (
    "{question}\n\nSolve the problem step by step. End with the final answer as a number on its own line, "
    'in the form "#### <number>".'
)
BOXED_PROMPT = "{question}\n\nSolve the problem step by step. Put the final answer in \\boxed{{}}."
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?|-?\.\d+")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(-?[\d.,]+)\s*\}\s*\{\s*(-?[\d.,]+)\s*\}")
_TEXT = r"\\(?:text|textbf|mbox|mathrm)\{"
_UNITS = re.compile(_TEXT + r"\s[^{}]*\}(?:\^\d)?\s*$")  # "162\text{ minutes}", "15\mbox{ cm}^2"
_TEXT_GROUP = re.compile(_TEXT + r"([^{}]*)\}")
_LHS = re.compile(r"^[a-zA-Z]\w?=")  # "x=5", "k=5"
_PLAIN = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^-?\.\d+$")
_PLAIN_FRAC = re.compile(r"^(-?)(\d+)?\\frac\{(\d+(?:\.\d+)?)\}\{(\d+(?:\.\d+)?)\}$|^(-?)()(\d+)/(\d+)$")


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
    fragment = _FRAC.sub(r"\1/\2", fragment.replace("$", "").replace("\\!", "").replace("{,}", ","))
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


def normalize_answer(text: str) -> str:
    """A final answer written one way, after MATH's `strip_string` (hendrycks/math): '\\dfrac 12' -> '\\frac{1}{2}'."""
    s = text.replace("\n", " ").replace("\\!", "").replace("{,}", ",").replace("tfrac", "frac").replace("dfrac", "frac")
    for mark in ("\\left", "\\right", "^{\\circ}", "^\\circ", "\\$", "$", "\\%", "%"):
        s = s.replace(mark, "")
    s = _UNITS.sub("", s.strip()) or s  # a unit after the answer, unless it is the whole answer
    s = _TEXT_GROUP.sub(r"\1", s).replace(" ", "")
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)  # \frac12
    s = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", s)  # \frac3{4}
    s = re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", s)  # \frac{270}7
    s = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s)  # \sqrt2
    s = _LHS.sub("", s).lstrip(":").rstrip(".")
    return "0" + s if s.startswith(".") else s


def plain_value(answer: str) -> float | None:
    """The value of a normalized answer that is a number, a fraction or a mixed number ('1,000', '-\\frac{16}{63}',
    '8\\frac{4}{7}', '3/4'), else None."""
    if _PLAIN.match(answer):
        return float(answer.replace(",", ""))
    match = _PLAIN_FRAC.match(answer)
    if match is None:
        return None
    sign, whole, numerator, denominator = match.groups()[:4] if match[3] else match.groups()[4:]
    if float(denominator) == 0:
        return None
    return (-1 if sign else 1) * (float(whole or 0) + float(numerator) / float(denominator))


def same_number(a: float, b: float) -> bool:
    """Numeric equality with a relative tolerance for rounding in floating-point answers."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


class MathGrader(Grader):
    """Right when the reply's final answer equals the reference's (as numbers, else as written); none is `unparsed`."""

    kind = "math"
    max_tokens = 512

    def __init__(self, references: ReferenceBook | None = None) -> None:
        self.references = references or ReferenceBook(None)

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """The row's `answer`, the RouterDC answer key's or GSM8K's final answer as the reference."""
        given = super().question(row, task)
        if isinstance(given, Question):
            reference = given.reference
        elif isinstance(key := self.references.routerdc(str(row["query_id"]), str(row["prompt"])), AnswerKey):
            if key.why_not_graded:
                return key.why_not_graded
            reference = key.answer
        else:
            reference = self.references.gsm8k(str(row["prompt"]))
        if reference is None:
            return (
                f"no reference answer for task {row['task']!r} (GSM8K's come from references/gsm8k/, MATH's from "
                "references/routerdc/)"
            )
        if not normalize_answer(reference):
            return f"reference answer {reference!r} is empty"
        return self.make(row, task, reference=reference)

    def prompt(self, question: Question) -> str:
        """The problem with an instruction to box the answer (MATH) or to end on '#### <number>'."""
        template = BOXED_PROMPT if fnmatchcase(question.label, "math*") else PROMPT
        return template.format(question=question.text.strip())

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """1 when the final answers agree: as numbers when the reference is one, else as normalized text."""
        want = normalize_answer(item.question.reference or "")
        want_value = plain_value(want)
        boxed = _boxed(reply) if reply else None
        if boxed is not None and normalize_answer(boxed):
            got = normalize_answer(boxed)
            got_value = plain_value(got)
            if want_value is not None and got_value is not None:
                return Verdict(float(same_number(got_value, want_value)), "graded", parsed=f"{got_value:g}")
            return Verdict(float(got == want), "graded", parsed=got)
        if want_value is not None:
            value = final_number(reply) if reply else None
            if value is None:
                return Verdict(0.0, "unparsed")
            return Verdict(float(same_number(value, want_value)), "graded", parsed=f"{value:g}")
        fragment = next((f for f in (_after(reply or "", "####"), _after(reply or "", "answer is")) if f), "")
        got = normalize_answer(fragment)
        if not got:
            return Verdict(0.0, "unparsed")
        return Verdict(float(got == want), "graded", parsed=got)
