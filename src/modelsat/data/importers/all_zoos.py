"""Every zoo of the data folder as one outcomes table: MMLU-Pro, RouterDC, RouterBench and AlpacaEval.

Each zoo is read by its own importer (`ZOO_SOURCES`: sub-folder and importer). Query ids are already namespaced
by source (`mmlu-pro/…`, `routerdc/…`, `routerbench/…`, `alpaca-eval/…`), so they stay unique. A model with the
same name in two zoos is one model: its rows merge (the importers' names are compared as written, so
`Meta-Llama-3-8B` of MMLU-Pro and of RouterDC is one model, while RouterBench's `gpt-4-1106-preview` and
AlpacaEval's `gpt4_1106_preview` stay two; `shared_models` lists the merges). Every row gets its `kind` of
request (`data/kinds.py`).

Example:
    result = load(Path("../shared/data"))
    result.outcomes.groupby("kind")["query_id"].nunique()
"""

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult, alpaca_eval, mmlu_pro, routerbench, routerdc
from modelsat.data.kinds import kinds_of
from modelsat.data.schema import validate_outcomes
from modelsat.errors import DataError

ZOO_SOURCES: dict[str, tuple[str, Callable[[Path], ImportResult]]] = {
    "mmlu-pro": ("mmlu-pro", mmlu_pro.load),
    "routerdc": ("routerdc", routerdc.load),
    "routerbench": ("routerbench-subset", routerbench.load),
    "alpaca-eval": ("alpaca-eval/results.zip", alpaca_eval.load),
}


def zoo_of(query_ids: pd.Series) -> pd.Series:
    """The zoo of each query id: its first path component (`routerdc/gsm8k/train/3` -> `routerdc`)."""
    return query_ids.astype(str).str.split("/", n=1).str[0]


def shared_models(outcomes: pd.DataFrame) -> dict[str, list[str]]:
    """Models whose rows come from more than one zoo, with those zoos."""
    zoos = outcomes.assign(_zoo=zoo_of(outcomes["query_id"])).groupby("model")["_zoo"].unique()
    return {str(model): sorted(map(str, found)) for model, found in zoos.items() if len(found) > 1}


def load(root: Path) -> ImportResult:
    """Import every zoo of the data folder `root` into one table with a `kind` column.

    Raises:
        DataError: when a zoo's sub-folder is missing (naming it) or an importer refuses its files.
    """
    root = Path(root)
    result = ImportResult(pd.DataFrame())
    frames = []
    for zoo, (folder, importer) in ZOO_SOURCES.items():
        path = root / folder
        if not path.exists():
            raise DataError(f"{path}: missing; `import all` reads {', '.join(f for f, _ in ZOO_SOURCES.values())}")
        part = importer(path)
        for file, reasons in part.skipped.items():
            for reason, count in reasons.items():
                result.skip(f"{zoo}/{file}", reason, count)
        result.notes += [f"{zoo}: {note}" for note in part.notes]
        frames.append(part.outcomes)
    table = pd.concat(frames, ignore_index=True)
    table["kind"] = kinds_of(table["task"])
    merged = shared_models(table)
    if merged:
        result.notes.append(
            "one model in several zoos (rows merged): " + "; ".join(f"{m} ({', '.join(z)})" for m, z in merged.items())
        )
    result.outcomes = validate_outcomes(table, str(root))
    return result
