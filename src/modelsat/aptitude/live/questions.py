"""Aptitude questions as prompts, and the circle test (Model-SAT §3.2 data refinement).

The circle test asks each question under several rotations of its options; a question counts as
right only if the model is right under every rotation, which filters out lucky guesses and
position bias ("always answer A").

Example:
    questions = aptitude_questions(outcomes, aptitude)
    asked = [a for q in questions for a in circle(q, rotations=2)]
    asked[1].prompt  # options shifted by 5 places; asked[1].answer is the moved letter
"""

import json
import re
from dataclasses import dataclass

import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.errors import DataError

LETTERS = "ABCDEFGHIJ"
INSTRUCTION = "The following is a multiple choice question. Answer with the letter of the correct option."
# A reply that states the letter ("The answer is B", "Answer: (B)") or is the letter ("B", "B.", "(B) ...");
# a bare leading word such as "A good ..." or "I think ..." is not a letter answer.
_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is)?\s*[:\-]?\s*\(?([A-J])\b", re.IGNORECASE),
    re.compile(r"^\(?([A-J])(?:[.):]|$)"),
)


@dataclass(frozen=True)
class Question:
    """One aptitude question with its options and the index of the right one."""

    query_id: str
    task: str
    text: str
    options: tuple[str, ...]
    answer_index: int


@dataclass(frozen=True)
class Asked:
    """A question with its options shifted: the prompt shown and the letter that is right there."""

    question: Question
    shift: int
    prompt: str
    answer: str

    @property
    def n_options(self) -> int:
        """How many options (letters) the prompt offers."""
        return len(self.question.options)


def aptitude_questions(outcomes: pd.DataFrame, aptitude: AptitudeSet) -> list[Question]:
    """The aptitude questions in task order, with text and options from any model's outcomes row.

    Raises:
        DataError: when a question is missing from `outcomes` or lacks options/answer.
    """
    rows = outcomes[outcomes["query_id"].isin(aptitude.query_ids)].drop_duplicates("query_id").set_index("query_id")
    questions = []
    for task in aptitude.tasks:
        for qid in task.query_ids:
            if qid not in rows.index:
                raise DataError(f"aptitude question {qid} ({task.name}) is not in the outcomes table")
            row = rows.loc[qid]
            try:
                options = tuple(str(o) for o in json.loads(row["options"]))
                answer_index = LETTERS.index(str(row["answer"]))
            except (TypeError, ValueError) as exc:
                raise DataError(f"aptitude question {qid}: options/answer unusable ({exc})") from exc
            if not 2 <= len(options) <= len(LETTERS) or answer_index >= len(options):
                raise DataError(f"aptitude question {qid}: {len(options)} options, answer {row['answer']!r}")
            questions.append(Question(qid, task.name, str(row["prompt"]), options, answer_index))
    return questions


def shift(n_options: int, rotation: int, rotations: int) -> int:
    """Places the options move under `rotation`: spread evenly, so 2 rotations of 10 options shift by 0 and 5."""
    return rotation * n_options // rotations


def circle(question: Question, rotations: int) -> list[Asked]:
    """The distinct prompts of the circle test for `question` (fewer than `rotations` if it has few options)."""
    n = len(question.options)
    return [ask(question, k) for k in sorted({shift(n, r, rotations) for r in range(rotations)})]


def ask(question: Question, k: int) -> Asked:
    """`question` with its options rotated left by `k` places, as a prompt ending in 'Answer:'."""
    n = len(question.options)
    options = question.options[k:] + question.options[:k]
    lines = [INSTRUCTION, "", f"Question: {question.text.strip()}"]
    lines += [f"{LETTERS[i]}. {option}" for i, option in enumerate(options)]
    lines.append("Answer:")
    return Asked(question, k, "\n".join(lines), LETTERS[(question.answer_index - k) % n])


def parse_letter(text: str, n_options: int) -> str | None:
    """The option letter a generated reply gives ('B', 'B.', '(B) ...', 'The answer is B'), else None."""
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text.strip())
        if match and LETTERS.index(match.group(1)) < n_options:
            return match.group(1)
    return None
