"""Aptitude questions as prompts, and the circle test (Model-SAT §3.2 data refinement).

The circle test asks each question under several rotations of its options; a question counts as
right only if the model is right under every rotation, which filters out lucky guesses and
position bias ("always answer A").

Free-form questions (math, code, open-ended) are asked once; their graders (`live/graders/`) read
the reply.

Example:
    question = Question("mmlu-pro/70", "mmlu/law", "Which court ...?", ("Supreme", "District"), 0)
    asked = circle(question, rotations=2)
    asked[1].prompt  # options shifted by one place; asked[1].answer is the moved letter
    parse_letter("The answer is (B).", n_options=2)  # 'B'
"""

import re
from dataclasses import dataclass

LETTERS = "ABCDEFGHIJ"
INSTRUCTION = "The following is a multiple choice question. Answer with the letter of the correct option."
# In order: "the answer is (B)" (its first statement, MMLU-Pro's own extraction), a reply that is the
# letter ("B", "B.", "(C) because"), a reply that starts "Answer: B". A bare leading word such as
# "A good ..." or "I think ..." is not a letter answer, and no stray letter later in a reply is guessed
# (a few-shot model's invented next question often ends "Answer: A").
_LETTER_PATTERNS = (
    re.compile(r"[Aa]nswer is:?\s*\(?([A-J])\b"),
    re.compile(r"^\(?([A-J])(?:[.):]|$)"),
    re.compile(r"^[Aa]nswer:\s*\(?([A-J])\b"),
)
_CUE = re.compile(r"\s*(?:Answer:|答案[：:]|Print only a single choice .*)\s*$")
_EMBEDDED_OPTION = re.compile(r"^\(?([A-J])[.)．、]\s*(.*)$")


@dataclass(frozen=True)
class Question:
    """One aptitude question: its core task, its own task label, text and what grades it.

    `options`/`answer_index` are set for multiple-choice questions, `reference` for the others (the
    number, the tests or the reference answer the grader of `kind` compares with).
    """

    query_id: str
    task: str
    text: str
    options: tuple[str, ...] = ()
    answer_index: int | None = None
    label: str = ""
    kind: str = "multiple-choice"
    reference: str | None = None


@dataclass(frozen=True)
class Asked:
    """A question with its options shifted: the prompt shown and the letter that is right there."""

    question: Question
    shift: int
    prompt: str
    answer: str
    max_tokens: int = 16
    generate: bool = False  # a free-form reply (math, code, open-ended), not an option letter

    @property
    def n_options(self) -> int:
        """How many options (letters) the prompt offers."""
        return len(self.question.options)


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
    """The option letter a reply gives ('The answer is (B)', 'B', '(B) ...', 'Answer: B'), else None."""
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text.strip())
        if match:
            return match.group(1) if LETTERS.index(match.group(1)) < n_options else None
    return None


def embedded_options(text: str) -> tuple[str, tuple[str, ...]] | None:
    """Split a question that lists its options in its text ('...\\nA. x\\nB. y') into stem and options.

    The options must end the text, lettered A, B, C, ... in order, each on a line of its own and
    possibly running on over the next lines (a C-Eval option quoting two lines of program output); a
    trailing cue such as 'Answer:', '答案：' or RouterBench's 'Print only a single choice ...' after the last
    option is dropped. Read from the end up to the option A, so a stem line that looks like an option
    ('E.F. Schumacher ...', 'A、B两只青蛙...') stays in the stem, and so do the solved examples of a few-shot
    prompt (RouterBench's), whose options come before the question's. None when the text has no such list.
    """
    lines = text.rstrip().splitlines()
    while lines and _CUE.fullmatch(lines[-1].strip()):  # a cue line after the options ('答案：')
        lines.pop()
    options: list[str] = []
    run_on: list[str] = []  # lines below an option line that continue it
    expected = None  # the letter the next option line up must carry (None: the last option's, any)
    for i in range(len(lines) - 1, -1, -1):
        match = _EMBEDDED_OPTION.match(lines[i].strip())
        if match is None or (expected is not None and match.group(1) != expected):
            run_on.insert(0, lines[i].strip())
            continue
        options.insert(0, "\n".join([match.group(2), *run_on]).strip())
        run_on = []
        if match.group(1) == "A":
            if len(options) < 2:
                return None
            options[-1] = _CUE.sub("", options[-1]).rstrip()
            return "\n".join(lines[:i]).strip(), tuple(options)
        expected = LETTERS[LETTERS.index(match.group(1)) - 1]
    return None
