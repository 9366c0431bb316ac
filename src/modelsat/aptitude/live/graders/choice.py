"""Multiple-choice grading: the option letter of the reply, asked under the circle test's rotations.

Options and the right letter come from the outcomes row (`options` JSON list, `answer` letter) or,
for a question that lists its options in its text ('A. ...' lines, as in RouterDC's MMLU, CMMLU and
C-Eval files), from the text and the row's `answer`. Without an answer key a question is ungradable.

Example:
    grader = MultipleChoiceGrader()
    question = grader.question(row, "mmlu/law")
    [grader.grade(item, "The answer is (B).") for item in grader.prompts(question, rotations=2)]
"""

import json
from collections.abc import Mapping
from typing import Any

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.questions import LETTERS, Asked, Question, circle, embedded_options, parse_letter


class MultipleChoiceGrader(Grader):
    """Right when the reply's letter is the (rotated) right option; no letter is `unparsed`."""

    kind = "multiple-choice"
    max_tokens = 16

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """Options from the `options` column or the question text; the right letter from `answer`."""
        text, raw = str(row["prompt"]), row.get("options")
        if isinstance(raw, str) and raw.strip():
            try:
                options = tuple(str(o) for o in json.loads(raw))
            except ValueError:
                return f"options are not a JSON list: {raw[:60]!r}"
        elif split := embedded_options(text):
            text, options = split
        else:
            return "no options (neither an `options` column nor 'A. ...' lines in the question)"
        answer = row.get("answer")
        if not isinstance(answer, str) or answer.strip() not in LETTERS:
            return "no answer key (the outcomes row has no `answer` letter)"
        index = LETTERS.index(answer.strip())
        if not 2 <= len(options) <= len(LETTERS) or index >= len(options):
            return f"{len(options)} options, answer {answer!r}"
        return Question(str(row["query_id"]), task, text, options, index, label=str(row["task"]), kind=self.kind)

    def prompts(self, question: Question, rotations: int) -> list[Asked]:
        """The circle test: the question under `rotations` evenly spread option shifts."""
        return circle(question, rotations)

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """1 when the parsed letter is the right one under this rotation."""
        letter = parse_letter(reply, item.n_options) if reply else None
        if letter is None:
            return Verdict(0.0, "unparsed")
        return Verdict(float(letter == item.answer), "graded", parsed=letter)
