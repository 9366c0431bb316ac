"""RouterBench importer: CSVs with `sample_id, prompt, eval_name`, a 0/1 column per model and
`<model>|total_cost` (USD).

`prompt` is a stringified Python list of turns; the turns are joined with a blank line. Models are
the columns that have a `<model>|total_cost` twin. The query id is `routerbench/<sample_id>`:
in the published split a few ARC ids occur twice (once scored for ten models, once for the
eleventh, possibly in the other file), so rows sharing a `sample_id` are merged into one query,
keeping the prompt of the row that scores the most models. Responses are not imported; those of a prompt ending
in lettered options (ARC-Challenge, WinoGrande) give its `answer` letter where the verdicts agree on it
(`verdict_keys.py`), so the question can be graded live.

Example:
    result = load(Path("../shared/data/routerbench-subset"))
"""

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.importers.files import read_table, require_columns
from modelsat.data.importers.verdict_keys import key_from_verdicts, option_count, reply_letter
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

SOURCE = "routerbench"
COST_SUFFIX = "|total_cost"
REPLY_SUFFIX = "|model_response"
NEEDED = ["sample_id", "prompt", "eval_name"]


@dataclass
class _Query:
    """Everything known about one sample_id, gathered over rows and files."""

    task: str
    prompt: str
    n_scored: int
    scores: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    replies: dict[str, str | None] = field(default_factory=dict)  # each model's reply letter, where it gave one

    def answer(self) -> str | None:
        """The answer letter the replies and verdicts agree on (None for a prompt without lettered options)."""
        n_options = option_count(self.prompt)
        votes = [(letter, self.scores[model][0]) for model, letter in self.replies.items() if model in self.scores]
        return key_from_verdicts(votes, n_options) if n_options else None


def prompt_text(raw: object) -> str | None:
    """Join a stringified list of turns into one text; None when it is not a list of strings."""
    if not isinstance(raw, str):
        return None
    try:
        turns = ast.literal_eval(raw)  # literals only: never evaluates code
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(turns, str):
        turns = [turns]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        return None
    return "\n\n".join(turns)


def model_columns(frame: pd.DataFrame, path: Path) -> list[str]:
    """Model names: columns with a `<model>|total_cost` twin."""
    models = [c.removesuffix(COST_SUFFIX) for c in frame.columns if c.endswith(COST_SUFFIX)]
    require_columns(frame, models, path)
    if not models:
        raise DataError(f"{path}: no model columns (expected a score column and '<model>{COST_SUFFIX}' per model)")
    return models


def _score(value: object, path: Path, model: str, row: int) -> float | None:
    """A 0..1 score, None when the cell is empty; out-of-range values stop the import."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column '{model}' must hold scores in [0, 1]; row {row} has {value!r}") from None
    if math.isnan(score):
        return None
    if not 0.0 <= score <= 1.0:
        raise DataError(f"{path}: column '{model}' must hold scores in [0, 1]; row {row} has {value!r}")
    return score


def _gather(path: Path, queries: dict[str, _Query], result: ImportResult) -> list[str]:
    """Add the rows of one CSV to `queries`; return its model names."""
    frame = read_table(path)
    require_columns(frame, NEEDED, path)
    models = model_columns(frame, path)
    for row, rec in enumerate(frame.to_dict("records"), start=1):
        sample_id, task = rec["sample_id"], rec["eval_name"]
        if pd.isna(sample_id) or pd.isna(task):
            result.skip(path.name, "missing sample_id or eval_name")
            continue
        prompt = prompt_text(rec["prompt"])
        if prompt is None:
            result.skip(path.name, "prompt is not a list of text turns")
            continue
        scores = {}
        for model in models:
            score = _score(rec[model], path, model, row)
            if score is not None:
                cost = pd.to_numeric(rec[model + COST_SUFFIX], errors="coerce")
                scores[model] = (score, None if pd.isna(cost) else float(cost))
        query = queries.setdefault(str(sample_id), _Query(str(task), prompt, len(scores)))
        if len(scores) > query.n_scored:
            query.prompt, query.n_scored = prompt, len(scores)
        for model in scores:
            reply = prompt_text(rec.get(model + REPLY_SUFFIX))
            query.replies.setdefault(model, reply_letter(reply) if reply else None)
        for model, value in scores.items():
            if model in query.scores and query.scores[model][0] != value[0]:
                result.skip(path.name, f"conflicting scores for a sample_id seen before (kept the first): {model}")
                continue
            query.scores.setdefault(model, value)
    return models


def load(source: Path) -> ImportResult:
    """Import every `*.csv` in folder `source` (or one CSV file).

    Raises:
        DataError: when a file is empty, unreadable, lacks the RouterBench columns or holds a score outside [0, 1].
    """
    source = Path(source)
    files = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    if not files:
        raise DataError(f"{source}: no RouterBench .csv files found")
    result = ImportResult(pd.DataFrame())
    queries: dict[str, _Query] = {}
    models: set[str] = set()
    for path in files:
        models.update(_gather(path, queries, result))
    rows = []
    for sample_id, query in queries.items():
        answer = query.answer()
        for model in sorted(models - query.scores.keys()):
            result.skip(source.name, f"no score for {model}")
        for model, (score, cost) in query.scores.items():
            rows.append(
                {
                    "model": model,
                    "query_id": f"{SOURCE}/{sample_id}",
                    "prompt": query.prompt,
                    "task": query.task,
                    "source": SOURCE,
                    "score": score,
                    "cost": cost,
                    "answer": answer,
                }
            )
    if not rows:
        raise DataError(f"{source}: no usable RouterBench records")
    result.outcomes = validate_outcomes(pd.DataFrame(rows), str(source))
    return result
