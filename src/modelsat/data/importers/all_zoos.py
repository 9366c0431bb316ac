"""Every zoo of the data folder as one outcomes table: MMLU-Pro, RouterDC, RouterBench and AlpacaEval.

Each zoo is read by its own importer (`ZOO_SOURCES`: sub-folder and importer). Query ids are already namespaced
by source (`mmlu-pro/…`, `routerdc/…`, `routerbench/…`, `alpaca-eval/…`), so they stay unique. A model with the
same name in two zoos is one model: its rows merge (the importers' names are compared as written, so
`Meta-Llama-3-8B` of MMLU-Pro and of RouterDC is one model, while RouterBench's `gpt-4-1106-preview` and
AlpacaEval's `gpt4_1106_preview` stay two; `shared_models` lists the merges). Every row gets its `kind` of
request (`data/kinds.py`).

A zoo's own rows are recovered from the table by their query ids (`rows_of_zoo`), and `differences` says how they
differ from that zoo's own import: none, so a router trained on the whole table is judged on each zoo's test split
exactly as that zoo's dedicated router is (the same queries in the same split, the same scores).

Example:
    result = load(Path("../shared/data"))
    result.outcomes.groupby("kind")["query_id"].nunique()
    differences(rows_of_zoo(result.outcomes, "routerdc"), routerdc.load(Path("../shared/data/routerdc")).outcomes)
"""

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from modelsat.data.importers import ImportResult, alpaca_eval, mmlu_pro, routerbench, routerdc
from modelsat.data.kinds import kinds_of
from modelsat.data.schema import COLUMNS, KEY, validate_outcomes
from modelsat.data.splits import declared_splits, split_of
from modelsat.errors import ConfigError, DataError

ZOO_SOURCES: dict[str, tuple[str, Callable[[Path], ImportResult]]] = {
    "mmlu-pro": ("mmlu-pro", mmlu_pro.load),
    "routerdc": ("routerdc", routerdc.load),
    "routerbench": ("routerbench-subset", routerbench.load),
    "alpaca-eval": ("alpaca-eval/results.zip", alpaca_eval.load),
}


def zoo_of(query_ids: pd.Series) -> pd.Series:
    """The zoo of each query id: its first path component (`routerdc/gsm8k/train/3` -> `routerdc`)."""
    return query_ids.astype(str).str.split("/", n=1).str[0]


def rows_of_zoos(outcomes: pd.DataFrame, zoos: Sequence[str], origin: object) -> pd.DataFrame:
    """The rows of `outcomes` whose query ids are in `zoos` (first query-id parts), all columns kept.

    Raises:
        DataError: a zoo with no row in `outcomes` (read from `origin`), naming the zoos it has.
    """
    found = zoo_of(outcomes["query_id"])
    missing = [z for z in zoos if not (found == z).any()]
    if missing:
        raise DataError(
            f"{origin}: no query of zoo(s) {', '.join(missing)}; it has {', '.join(sorted(found.unique()))}"
        )
    return outcomes[found.isin(zoos).to_numpy()]


def shared_models(outcomes: pd.DataFrame) -> dict[str, list[str]]:
    """Models whose rows come from more than one zoo, with those zoos."""
    zoos = outcomes.assign(_zoo=zoo_of(outcomes["query_id"])).groupby("model")["_zoo"].unique()
    return {str(model): sorted(map(str, found)) for model, found in zoos.items() if len(found) > 1}


def rows_of_zoo(outcomes: pd.DataFrame, zoo: str) -> pd.DataFrame:
    """The rows of one zoo (a `ZOO_SOURCES` key) of an all-zoos table, in its own import's columns: the canonical
    ones and the extra columns its rows fill (MMLU-Pro's `category`), without `kind` and the other zoos' columns.

    Raises:
        ConfigError: for an unknown zoo, naming the known ones.
    """
    if zoo not in ZOO_SOURCES:
        raise ConfigError(f"unknown zoo {zoo!r} of `import all`; choose from {', '.join(ZOO_SOURCES)}")
    rows = outcomes[zoo_of(outcomes["query_id"]) == zoo]
    extra = [c for c in rows.columns if c not in COLUMNS and c != "kind" and rows[c].notna().any()]
    return rows[COLUMNS + extra].reset_index(drop=True)


def differences(ours: pd.DataFrame, own: pd.DataFrame) -> list[str]:
    """How a zoo's rows of the all-zoos table (`ours`) differ from that zoo's own import (`own`): the columns and the
    (model, query_id) pairs each has alone, and per column the pairs whose values differ, with the split each query is
    routed in (`split_of`: declared or by hash) compared as well. Empty when they agree."""
    found = [
        f"column {c!r} only in the {name} table"
        for name, frame, other in (("all-zoos", ours, own), ("own import", own, ours))
        for c in frame.columns
        if c not in other.columns
    ]
    for name, frame, other in (("all-zoos", ours, own), ("own import", own, ours)):
        alone = ~pd.MultiIndex.from_frame(frame[KEY]).isin(pd.MultiIndex.from_frame(other[KEY]))
        if alone.any():
            first = frame.loc[alone, KEY].iloc[0]
            found.append(f"{int(alone.sum())} (model, query_id) pair(s) only in the {name} table, e.g. {tuple(first)}")
    both = _with_routed_split(ours).merge(_with_routed_split(own), on=KEY, suffixes=("", "_own"))
    shared = [c for c in ours.columns if c in own.columns and c not in KEY]
    for column in [*shared, "routed_split"]:
        a, b = both[column], both[f"{column}_own"]
        differ = ~((a == b) | (a.isna() & b.isna()))
        if differ.any():
            row = both[differ].iloc[0]
            found.append(
                f"{column}: {int(differ.sum())} pair(s) differ, e.g. ({row['model']}, {row['query_id']}): "
                f"{row[column]!r} against {row[f'{column}_own']!r}"
            )
    return found


def _with_routed_split(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the split each of its rows is routed in (`routed_split`)."""
    return frame.assign(routed_split=split_of(frame["query_id"], declared_splits(frame)))


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
