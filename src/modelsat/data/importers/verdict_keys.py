"""The answer letter of a multiple-choice prompt, read off the replies its models gave and the verdicts they got.

RouterBench's ARC-Challenge and WinoGrande prompts end with lettered options ('A) ...' lines) and record each
model's reply (`<model>|model_response`, a letter) and its 0/1 verdict, but not the answer key. A reply judged right
names the key; one judged wrong rules its letter out. The key is kept only when the verdicts agree: every reply
judged right gives the same letter and none judged wrong gives it, or, with two options and no reply judged right,
every reply judged wrong gives the same letter (the key is the other). Anything else keys nothing.

Example:
    option_count("...\\nA) Ian\\nB) Dennis\\nPrint only a single choice ...")  # 2
    key_from_verdicts([("B", 1.0), ("A", 0.0), (None, 0.0)], n_options=2)  # 'B'
"""

import re

LETTERS = "ABCDEFGHIJ"
_OPTION_LINE = re.compile(r"^([A-J])\)\s")
_REPLY = re.compile(r"^\(?([A-J])(?:[).:]|$)")  # 'B', 'B)', '(B) ...', 'B. ...'; never the 'I' of 'I do not'


def option_count(prompt: str) -> int:
    """The options ('A) ...', 'B) ...' lines, lettered in order from A) of the prompt's last block (text after its
    last blank line); 0 when it lists none."""
    block = prompt.rstrip().rsplit("\n\n", 1)[-1]
    letters = [m.group(1) for line in block.splitlines() if (m := _OPTION_LINE.match(line.strip()))]
    return len(letters) if letters and "".join(letters) == LETTERS[: len(letters)] else 0


def reply_letter(reply: str) -> str | None:
    """The option letter a short reply is or opens with ('B', 'B)', '(B) Dennis'), else None."""
    match = _REPLY.match(reply.strip())
    return match.group(1) if match else None


def key_from_verdicts(votes: list[tuple[str | None, float]], n_options: int) -> str | None:
    """The answer letter that every (reply letter, 0/1 verdict) pair agrees with, or None. A reply naming no option
    of the `n_options` says nothing."""
    options = LETTERS[:n_options]
    right = {letter for letter, score in votes if letter and letter in options and score >= 1.0}
    wrong = {letter for letter, score in votes if letter and letter in options and score <= 0.0}
    if len(right) == 1:
        (letter,) = right
        return None if letter in wrong else letter
    if not right and n_options == 2 and len(wrong) == 1:
        return "B" if wrong == {"A"} else "A"
    return None
