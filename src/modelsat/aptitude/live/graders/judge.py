"""Open-ended grading: a judge model compares the answer with a reference answer, AlpacaEval-style.

The judge sees the instruction and two outputs and names the better one. It is asked twice, the
answer first and then second, so a judge that prefers a position cancels out; the score is the
share of the two verdicts the answer wins (0, ½ or 1): its preference over the reference. A judge
reply that names neither output is asked again (`retries` times) and then counts as `unparsed`
with score 0, never as a win. Every judge reply is kept in the answer log for audit.

The reference is the row's `answer`, else GPT-4 Turbo's answer to the same AlpacaEval instruction.

Example:
    grader = JudgeGrader(ReferenceBook(data_dir()), judge=open_chat("openai:http://localhost:8000/v1#judge"))
    verdict = grader.grade(item, "Broadway actors who moved to film include ...")
"""

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.references import ReferenceBook
from modelsat.aptitude.live.questions import Asked, Question
from modelsat.errors import ConfigError

JUDGE_PROMPT = """You are a fair judge comparing two outputs for the same instruction. Pick the output that \
follows the instruction better: more helpful, accurate, relevant and complete. Ignore the order and the \
length of the outputs.

## Instruction
{instruction}

## Output (a)
{a}

## Output (b)
{b}

## Verdict
Which output is better? Reply with exactly one letter: a or b."""
JUDGE_MAX_TOKENS = 16
# The whole reply is the letter ('b', '(a).', 'Output (b)'), or it opens with a parenthesised one
# ('(a) is better'), or it states one ('The better output is (b)', 'Output (a) is better');
# "a good answer ..." names nothing.
_VERDICTS = (
    re.compile(r"^(?:output\s*)?\(?([ab])\)?[.!:]?$", re.IGNORECASE),
    re.compile(r"^(?:output\s*)?\(([ab])\)", re.IGNORECASE),
    re.compile(r"\bbetter(?: output)? is:?\s*(?:output\s*)?\(?([ab])\)?(?:[\s.!,]|$)", re.IGNORECASE),
    re.compile(r"\boutput\s*\(?([ab])\)?\s+is (?:the )?better\b", re.IGNORECASE),
)


class Chat(Protocol):
    """A model that completes one prompt (the judge): an endpoint or a local model."""

    def complete(self, prompt: str, max_tokens: int) -> str | None:
        """The reply text to `prompt`, or None when the reply was unusable."""


def parse_verdict(text: str | None) -> str | None:
    """'a' or 'b' when the judge's reply names one output ('a', '(b)', 'Output (a) ...'), else None."""
    for pattern in _VERDICTS:
        if text and (match := pattern.search(text.strip())):
            return match.group(1).lower()
    return None


class JudgeGrader(Grader):
    """Scores an open-ended answer by a judge's position-swapped preference over the reference answer."""

    kind = "open-ended"
    max_tokens = 512
    deferred = True

    def __init__(self, references: ReferenceBook | None = None, judge: Chat | None = None, retries: int = 2) -> None:
        self.references = references or ReferenceBook(None)
        self.judge = judge
        self.retries = retries

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """The row's `answer` or AlpacaEval's GPT-4 Turbo answer as the reference."""
        if self.judge is None:
            raise ConfigError(
                f"task {row['task']!r} is graded by a judge model: give one with --judge openai:BASE_URL#MODEL "
                "(or --judge hf:PATH_OR_ID)"
            )
        given = super().question(row, task)
        if isinstance(given, Question):
            return given
        reference = self.references.alpaca(str(row["prompt"]))
        if reference is None:
            return f"no reference answer for task {row['task']!r} (AlpacaEval's come from alpaca-eval/results.zip)"
        return self.make(row, task, reference=reference)

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """Ask the judge with the answer as (a), then as (b); the score is the share of wins."""
        if not reply or not reply.strip():
            return Verdict(0.0, "unparsed", detail="empty answer: not judged")
        assert self.judge is not None, "JudgeGrader.question refuses to build questions without a judge"
        wins, raw, calls = [], [], 0
        for answer_first in (True, False):
            a, b = (reply, item.question.reference) if answer_first else (item.question.reference, reply)
            prompt = JUDGE_PROMPT.format(instruction=item.question.text.strip(), a=a, b=b)
            for _ in range(self.retries + 1):
                text = self.judge.complete(prompt, JUDGE_MAX_TOKENS)
                calls += 1
                raw.append(text)
                if (pick := parse_verdict(text)) is not None:
                    wins.append(pick == ("a" if answer_first else "b"))
                    break
            else:
                return Verdict(0.0, "unparsed", detail=json.dumps(raw), judge_calls=calls)
        picks = "".join("w" if won else "l" for won in wins)
        return Verdict(sum(wins) / 2, "graded", parsed=picks, detail=json.dumps(raw), judge_calls=calls)
