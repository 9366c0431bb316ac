"""Multiple-choice grading: the option letter of the reply, asked under the circle test's rotations.

Options and the right letter come from the outcomes row (`options` JSON list, `answer` letter) or,
for a question that lists its options in its text ('A. ...' lines, as in RouterDC's MMLU, CMMLU and
C-Eval files), from the text and the row's `answer`. A RouterDC record without them takes them from
its answer key (`references/routerdc/`): the letter, and for ARC-Challenge, whose prompts carry no
options, the options too (shown after the stem, without RouterDC's `Question:`/`Answer:` frame). A row
the key flags (`conflict`, `ambiguous_stem`) is left out. Without an answer key a question is ungradable.

Example:
    grader = MultipleChoiceGrader(ReferenceBook(data_dir()))
    question = grader.question(row, "mmlu/law")
    [grader.grade(item, "The answer is (B).") for item in grader.prompts(question, rotations=2)]
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.references import AnswerKey, ReferenceBook
from modelsat.aptitude.live.questions import LETTERS, Asked, Question, circle, embedded_options, parse_letter

_FRAME = re.compile(r"^\s*Question:\s*(?P<stem>.*?)\s*(?:\n\s*Answer:)?\s*$", re.DOTALL)  # RouterDC's ARC prompts


class MultipleChoiceGrader(Grader):
    """Right when the reply's letter is the (rotated) right option; no letter is `unparsed`."""

    kind = "multiple-choice"
    max_tokens = 16

    def __init__(self, references: ReferenceBook | None = None) -> None:
        self.references = references or ReferenceBook(None)

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """Options from the `options` column, the text or the answer key; the letter from `answer` or the key."""
        text, raw, qid = str(row["prompt"]), row.get("options"), str(row["query_id"])
        key: AnswerKey | str | None = None
        if isinstance(raw, str) and raw.strip():
            try:
                options = tuple(str(o) for o in json.loads(raw))
            except ValueError:
                return f"options are not a JSON list: {raw[:60]!r}"
        elif split := embedded_options(text):
            text, options = split
        else:
            key = self.references.routerdc(qid, text)
            if not isinstance(key, AnswerKey) or not key.options:
                return "no options (no `options` column, no 'A. ...' lines in the question, no keyed ARC record)"
            text, options = _stem(text), key.options
        answer = row.get("answer")
        if not isinstance(answer, str) or answer.strip() not in LETTERS:
            key = key or self.references.routerdc(qid, str(row["prompt"]))
            if isinstance(key, str):
                return f"no answer key (the outcomes row has no `answer` letter; {key})"
            answer = key.answer
        if isinstance(key, AnswerKey) and key.why_not_graded:
            return key.why_not_graded
        if answer.strip() not in LETTERS:
            return f"answer {answer!r} is not an option letter"
        index = LETTERS.index(answer.strip())
        if not 2 <= len(options) <= len(LETTERS) or index >= len(options):
            return f"{len(options)} options, answer {answer!r}"
        return Question(qid, task, text, options, index, label=str(row["task"]), kind=self.kind)

    def prompts(self, question: Question, rotations: int) -> list[Asked]:
        """The circle test: the question under `rotations` evenly spread option shifts."""
        return circle(question, rotations)

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """1 when the parsed letter is the right one under this rotation."""
        letter = parse_letter(reply, item.n_options) if reply else None
        if letter is None:
            return Verdict(0.0, "unparsed")
        return Verdict(float(letter == item.answer), "graded", parsed=letter)


def _stem(text: str) -> str:
    """A question without RouterDC's 'Question:' ... 'Answer:' frame (the prompt adds its own)."""
    match = _FRAME.match(text)
    return match["stem"] if match else text.strip()
