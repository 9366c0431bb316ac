"""The unified aptitude test on the real data: every kind of request, train questions only, every one gradable
live, its dry-run figures per kind, and `--kinds` taking exactly those kinds' questions."""

import json
from pathlib import Path

import pandas as pd
import pytest

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.aptitude.live.graders.references import ReferenceBook
from modelsat.aptitude.live.plan import GraderSet, plan_test
from modelsat.aptitude.unified import UNIFIED_PATH, UnaskedJudge, dataset_labels, unified_aptitude_set
from modelsat.data.importers.all_zoos import zoo_of
from modelsat.data.kinds import KINDS, kind_of
from modelsat.data.schema import read_outcomes
from modelsat.data.splits import split_outcomes
from modelsat.errors import ConfigError

GRADER_OF_KIND = {"knowledge": "multiple-choice", "chinese": "multiple-choice", "reasoning": "multiple-choice",
                  "math": "math", "code": "code", "chat": "open-ended"}  # fmt: skip


@pytest.fixture(scope="module")
def table(all_outcomes_file: Path) -> pd.DataFrame:
    return read_outcomes(all_outcomes_file)


@pytest.fixture(scope="module")
def unified() -> AptitudeSet:
    return AptitudeSet.load(UNIFIED_PATH)


def graders(shared_data: Path) -> GraderSet:
    return GraderSet(references=ReferenceBook(shared_data), judge=UnaskedJudge())


def test_one_test_of_every_kind_from_train_questions_only(unified: AptitudeSet, table: pd.DataFrame) -> None:
    assert UNIFIED_PATH.stat().st_size < 1_000_000
    assert [t.kind for t in unified.tasks] == sorted((t.kind for t in unified.tasks), key=KINDS.index)
    assert {t.kind for t in unified.tasks} == set(KINDS)
    assert all(len(t.query_ids) <= 40 for t in unified.tasks) and len(unified.query_ids) == 2063
    rows = table[table["query_id"].isin(unified.query_ids)]
    assert set(split_outcomes(rows, "train")["query_id"]) == unified.query_ids  # never validation or test
    by_id = rows.drop_duplicates("query_id").set_index("query_id")
    for task in unified.tasks:
        own = by_id.loc[list(task.query_ids)]
        zoo, dataset = set(zoo_of(own.index.to_series())), set(dataset_labels(own.reset_index()))
        assert len(zoo) == 1 and len(dataset) == 1, task.name  # clustered within one dataset of one zoo
        assert task.name.startswith(f"{zoo.pop()}/") and {kind_of(t) for t in own["task"]} == {task.kind}
    per_kind = pd.Series([t.kind for t in unified.tasks]).value_counts().to_dict()
    assert per_kind == {"knowledge": 31, "chat": 6, "math": 3, "chinese": 3, "reasoning": 6, "code": 3}
    assert sum(t.name.startswith("routerbench/") for t in unified.tasks) == 4  # ARC ×2, WinoGrande, MBPP


def test_every_question_of_the_unified_test_is_gradable(
    unified: AptitudeSet, table: pd.DataFrame, shared_data: Path
) -> None:
    plan = plan_test(table, unified, graders(shared_data), rotations=2)
    assert plan.ungradable == {} and plan.flagged == 0 and len(plan.questions) == 2063
    kind = {t.name: t.kind for t in unified.tasks}
    assert all(q.kind == GRADER_OF_KIND[kind[q.task]] for q in plan.questions)


@pytest.mark.slow
def test_the_command_rebuilds_the_shipped_test(unified: AptitudeSet, table: pd.DataFrame, shared_data: Path) -> None:
    again, notes = unified_aptitude_set(table, graders(shared_data), per_task=40, seed=0)
    assert again.to_dict() == unified.to_dict()
    assert notes == ["routerdc: no gradable train question of ceval, math-prealgebra, mbpp"]


def dry_run(cli, outcomes: Path, tmp_path: Path, *extra: str) -> dict:
    result = cli("profile", "--live", "hf:smollm2", "--dry-run", "--json", "--aptitude", "unified", "--outcomes",
                 outcomes, "-o", tmp_path / "cards.json", "--judge", "hf:smollm2", *extra)  # fmt: skip
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_dry_run_counts_every_kind_and_kinds_take_only_theirs(
    cli, all_outcomes_file: Path, unified: AptitudeSet, tmp_path: Path
) -> None:
    whole = dry_run(cli, all_outcomes_file, tmp_path)
    assert whole["questions"] == 2063 and whole["ungradable"] == 0 and list(whole["kinds"]) == list(KINDS)
    for key in ("questions", "calls", "input_tokens", "output_tokens", "judge_calls"):
        assert sum(row[key] for row in whole["kinds"].values()) == whole["total"][key]
    assert whole["kinds"]["chat"]["judge_calls"] == 2 * 240 and whole["kinds"]["code"]["judge_calls"] == 0
    assert whole["kinds"]["knowledge"]["calls"] == 2 * 1229  # the circle test asks each twice
    part = dry_run(cli, all_outcomes_file, tmp_path, "--kinds", "code,knowledge")
    wanted = [t.name for t in unified.tasks if t.kind in ("knowledge", "code")]
    assert list(part["tasks"]) == wanted and list(part["kinds"]) == ["knowledge", "code"]
    assert part["questions"] == 1343 and part["kinds"] == {k: whole["kinds"][k] for k in ("knowledge", "code")}
    assert not (tmp_path / "cards.json").exists()


def test_unknown_kinds_are_named(cli, all_outcomes_file: Path, tmp_path: Path) -> None:
    result = cli("profile", "--live", "hf:smollm2", "--dry-run", "--aptitude", "unified", "--outcomes",
                 all_outcomes_file, "-o", tmp_path / "cards.json", "--kinds", "code,poetry")  # fmt: skip
    assert result.code == 2 and "unknown kind(s) 'poetry'; choose from knowledge, math" in result.stderr
    untagged = AptitudeSet((CoreTask("mmlu/law", "Law", ("q",)),), zoo=("m",), seed=0)
    with pytest.raises(ConfigError, match="tags no core task with a kind"):
        untagged.of_kinds(("code",))
    tagged = AptitudeSet((CoreTask("routerdc/gsm8k", "Math", ("q",), "math"),), zoo=("m",), seed=0)
    with pytest.raises(ConfigError, match="no core task of kind code here; this set has math"):
        tagged.of_kinds(("code",))
