"""The unified aptitude test: one exam for every kind of request, from the train split of every zoo in a table.

`modelsat import all` gives one outcomes table of every zoo; this builds one aptitude set from it:

1. Each zoo (a query id's first path component: `mmlu-pro`, `routerdc`, `routerbench`, `alpaca-eval`) is taken
   apart, with its own models: a question is eligible when every model of *its* zoo answered it, it is in the
   train split (DESIGN §3; never validation or test) and it can be graded live (`live/plan.graded_question`:
   an answer key, options, tests or a reference, and not flagged). Queries without a kind are left out.
2. Within a zoo, `clustering.task_aptitude_set` keeps its datasets apart and clusters each (MMLU-Pro by its 14
   categories, MMLU subjects included; RouterDC by benchmark; AlpacaEval by instruction source), the zoo's
   `CORE_TASKS` shared ∝ √ of each dataset's eligible questions, `per_task` questions each.
3. Core tasks are named `<zoo>/<dataset>[/NN]`, tagged with their kind (`data/kinds.py`) and ordered by kind
   (knowledge, math, code, chinese, reasoning, chat), then name.

Example:
    aptitude, notes = unified_aptitude_set(outcomes, per_task=10, seed=0)
    aptitude.save("src/modelsat/aptitude/unified.json")
"""

from dataclasses import replace
from pathlib import Path

import pandas as pd

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask, Sampling
from modelsat.aptitude.clustering import Embedder, task_aptitude_set
from modelsat.aptitude.live.plan import GraderSet, graded_question
from modelsat.data.importers.all_zoos import zoo_of
from modelsat.data.kinds import KINDS, kinds_of
from modelsat.data.splits import split_outcomes
from modelsat.errors import DataError

UNIFIED_PATH = Path(__file__).with_name("unified.json")
CORE_TASKS = {"mmlu-pro": 28, "routerdc": 14, "alpaca-eval": 6, "routerbench": 4}  # core tasks per zoo
OTHER_ZOO_CORE_TASKS = 4


def aptitude_file(path: Path) -> Path:
    """An `--aptitude` argument as a file: the path itself, or the shipped unified test for `unified` when no file of
    that name exists."""
    return UNIFIED_PATH if str(path) == "unified" and not path.exists() else path


def dataset_labels(rows: pd.DataFrame) -> pd.Series:
    """The dataset each row is clustered within: MMLU-Pro's `mmlu-pro/<category>` (its MMLU subjects included),
    else the row's own task."""
    labels = rows["task"].astype(str)
    if "category" in rows:
        mmlu_pro = (zoo_of(rows["query_id"]) == "mmlu-pro") & rows["category"].notna()
        labels = labels.where(~mmlu_pro, "mmlu-pro/" + rows["category"].astype(str))
    return labels


class UnaskedJudge:
    """The judge of a `GraderSet` that only checks which questions can be graded: open-ended questions need a
    judge to be built, and building the aptitude set grades nothing."""

    def complete(self, prompt: str, max_tokens: int) -> str:
        """Never called while the aptitude set is built."""
        raise RuntimeError("building the aptitude set grades no answer; give a real judge to profile live")


def gradable_train_ids(rows: pd.DataFrame, graders: GraderSet) -> set[str]:
    """Train-split query ids of `rows` whose question its grader can ask and grade."""
    if graders.judge is None:
        graders = replace(graders, judge=UnaskedJudge())
    train = split_outcomes(rows, "train").drop_duplicates("query_id").set_index("query_id")
    return {qid for qid, row in train.iterrows() if not isinstance(graded_question(row, "", graders), str)}


def unified_aptitude_set(
    outcomes: pd.DataFrame,
    graders: GraderSet,
    per_task: int = 10,
    seed: int = 0,
    embedder: Embedder | None = None,
    sampling: Sampling = "representative",
) -> tuple[AptitudeSet, list[str]]:
    """The unified aptitude set of `outcomes` and notes on the zoos or kinds left out (see the module docstring).

    Raises:
        DataError: when no zoo has a gradable train question.
    """
    table = outcomes.assign(kind=kinds_of(outcomes["task"]))
    table = table[table["kind"].notna()]
    zoos = zoo_of(table["query_id"])
    tasks: list[CoreTask] = []
    notes: list[str] = []
    for zoo in sorted(zoos.unique()):
        rows = table[(zoos == zoo).to_numpy()]
        keep = gradable_train_ids(rows, graders)
        if not keep:
            notes.append(f"{zoo}: no train question can be graded live; left out")
            continue
        rows = rows[rows["query_id"].isin(keep)]
        left = sorted(set(table.loc[(zoos == zoo).to_numpy(), "task"]) - set(rows["task"]))
        if left:
            notes.append(f"{zoo}: no gradable train question of {', '.join(left)}")
        grouped = rows.assign(task=dataset_labels(rows))
        models = sorted(grouped["model"].unique())
        n_tasks = CORE_TASKS.get(zoo, OTHER_ZOO_CORE_TASKS)
        part = task_aptitude_set(grouped, models, n_tasks, per_task, seed, embedder, sampling)
        kind = rows.drop_duplicates("query_id").set_index("query_id")["kind"]
        for task in part.tasks:
            kinds = set(kind.loc[list(task.query_ids)])
            assert len(kinds) == 1, f"core task {task.name} mixes kinds {kinds}"  # datasets are clustered apart
            name = task.name if task.name.startswith(f"{zoo}/") else f"{zoo}/{task.name}"
            tasks.append(CoreTask(name, task.description, task.query_ids, kinds.pop()))
    if not tasks:
        raise DataError("no zoo of the outcomes table has a train question that can be graded live")
    tasks.sort(key=lambda t: (KINDS.index(str(t.kind)), t.name))
    return AptitudeSet(tasks=tuple(tasks), zoo=tuple(sorted(table["model"].unique())), seed=seed), notes
