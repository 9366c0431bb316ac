"""AlpacaEval importer: judged answers of chat models to AlpacaEval's 805 open-ended instructions.

Takes AlpacaEval's `results/` folder (or a zip of it) as published: one
`<model>/weighted_alpaca_eval_gpt4_turbo/annotations.json` per model, a JSON list of `{dataset,
instruction, generator_2, preference, ...}` where `preference` ∈ [1, 2] is the judge's probability, plus 1,
that the model's answer beats the baseline's (GPT-4 Turbo). The score is `preference − 1`. The baseline's
own answers (`gpt4_1106_preview/model_outputs.json`) number the instructions — the query id is
`alpaca-eval/<index there>` — and become each query's reference `answer`. The task is
`alpaca-eval/<dataset>` (helpful_base, koala, oasst, selfinstruct, vicuna); splits follow the sha256 rule.

Example:
    result = load(Path("../shared/data/alpaca-eval/results.zip"))
"""

import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pandas as pd

from modelsat.data.importers import ImportResult
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

SOURCE = "alpaca-eval"
ANNOTATIONS = "weighted_alpaca_eval_gpt4_turbo/annotations.json"
BASELINE = "gpt4_1106_preview/model_outputs.json"


class _Results:
    """Read access to the files of a `results/` folder, on disk or inside a zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.json"))
            self._zip = None
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            self.names = sorted(n for n in self._zip.namelist() if n.endswith(".json"))
        else:
            raise DataError(f"{path}: not an AlpacaEval results folder or zip of one")
        self.root = self._common_root()

    def _common_root(self) -> str:
        """The folder inside the source that holds `<model>/...` (e.g. `results/`), found from the baseline file."""
        for name in self.names:
            if name.endswith(BASELINE):
                return name[: -len(BASELINE)]
        raise DataError(f"{self.path}: no {BASELINE} (the baseline's answers that number the instructions)")

    def read(self, name: str) -> object:
        """Parsed JSON of one member; a `DataError` naming it when it is not JSON."""
        where = f"{self.path}: {name}"
        try:
            raw = self._zip.read(name) if self._zip else (self.path / name).read_bytes()
            return json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{where}: not a JSON file ({exc})") from exc

    def annotations(self) -> Iterator[tuple[str, str]]:
        """(model, member name) of every annotations file."""
        for name in self.names:
            relative = name[len(self.root) :]
            parts = PurePosixPath(relative).parts
            if name.startswith(self.root) and len(parts) == 3 and relative.endswith(ANNOTATIONS):
                yield parts[0], name


def _baseline(results: _Results) -> tuple[dict[str, int], list[str]]:
    """Instruction → index, and the baseline's answers, from the baseline's outputs."""
    name = results.root + BASELINE
    records = results.read(name)
    if not isinstance(records, list) or not all(isinstance(r, dict) and "instruction" in r for r in records):
        raise DataError(f"{results.path}: {name}: expected a JSON list of {{instruction, output, ...}} records")
    index: dict[str, int] = {}
    for i, record in enumerate(records):
        index.setdefault(str(record["instruction"]), i)
    return index, [str(r.get("output", "")) for r in records]


def _score(record: dict) -> float | None:
    """preference − 1 in [0, 1], or None when the preference is missing or out of range."""
    value = record.get("preference")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value) - 1.0 if 1.0 <= value <= 2.0 else None


def _rows(results: _Results, model: str, name: str, index: dict[str, int], refs: list[str], result: ImportResult):
    """Outcome rows of one model's annotations; unusable records are counted in `result`."""
    records = results.read(name)
    if not isinstance(records, list):
        raise DataError(f"{results.path}: {name}: expected a JSON list of annotations")
    label = f"{model}/{ANNOTATIONS}"
    seen: set[int] = set()
    for record in records:
        if not isinstance(record, dict):
            result.skip(label, f"record is a {type(record).__name__}, not an object")
            continue
        position = index.get(str(record.get("instruction")))
        if position is None:
            result.skip(label, "instruction not among the baseline's instructions")
            continue
        score = _score(record)
        if score is None:
            result.skip(label, "preference missing or outside [1, 2]")
            continue
        if position in seen:
            result.skip(label, "instruction judged twice (kept the first)")
            continue
        seen.add(position)
        yield {
            "model": model,
            "query_id": f"{SOURCE}/{position}",
            "prompt": str(record["instruction"]),
            "task": f"{SOURCE}/{record.get('dataset') or 'unknown'}",
            "source": SOURCE,
            "score": score,
            "answer": refs[position],
        }


def load(source: Path) -> ImportResult:
    """Import every model's annotations from an AlpacaEval `results/` folder or zip.

    Raises:
        DataError: when the source is neither, lacks the baseline's outputs, or holds no annotations.
    """
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    results = _Results(source)
    index, refs = _baseline(results)
    result = ImportResult(pd.DataFrame())
    rows: list[dict] = []
    for model, name in results.annotations():
        rows.extend(_rows(results, model, name, index, refs, result))
    if not rows:
        raise DataError(f"{source}: no {ANNOTATIONS} files with usable records")
    result.outcomes = validate_outcomes(pd.DataFrame(rows), str(source))
    return result
