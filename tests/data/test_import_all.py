"""`modelsat import all`: every zoo of the real data folder in one outcomes table, each query with its kind, and
each zoo's rows the same as its own import."""

from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.importers import alpaca_eval, mmlu_pro, routerbench, routerdc
from modelsat.data.importers.all_zoos import ZOO_SOURCES, differences, rows_of_zoo, shared_models, zoo_of
from modelsat.data.kinds import KINDS
from modelsat.data.schema import read_outcomes, validate_outcomes
from modelsat.data.splits import declared_splits, split_of
from modelsat.errors import ConfigError


@pytest.fixture(scope="module")
def table(all_outcomes_file: Path) -> pd.DataFrame:
    return read_outcomes(all_outcomes_file)


def test_every_zoo_is_in_one_table_with_unique_query_ids(table: pd.DataFrame) -> None:
    zoos = zoo_of(table["query_id"])
    assert zoos.value_counts().to_dict() == {
        "mmlu-pro": 299_107, "routerdc": 126_420, "routerbench": 34_804, "alpaca-eval": 30_580
    }  # fmt: skip
    assert not table.duplicated(["model", "query_id"]).any()
    queries = table.drop_duplicates("query_id")
    assert zoo_of(queries["query_id"]).value_counts().to_dict() == {
        "mmlu-pro": 12_032, "routerdc": 18_060, "routerbench": 3_164, "alpaca-eval": 805
    }  # fmt: skip
    # a query id names one question of one task (7 MMLU-Pro prompts differ by a space between models' files)
    assert table.groupby("query_id")["task"].nunique().max() == 1
    assert (table.groupby("query_id")["prompt"].nunique() > 1).sum() == 7


def test_models_named_alike_are_one_model(table: pd.DataFrame, shared_data: Path) -> None:
    assert shared_models(table) == {
        "Meta-Llama-3-8B": ["mmlu-pro", "routerdc"],
        "Mistral-7B-v0.1": ["mmlu-pro", "routerdc"],
    }
    llama = table[table["model"] == "Meta-Llama-3-8B"]
    assert set(zoo_of(llama["query_id"])) == {"mmlu-pro", "routerdc"}
    assert table["model"].nunique() == 25 + 7 + 11 + 38 - 2
    # the same GPT-4 Turbo spelled two ways stays two models (names are compared as written)
    assert {"gpt-4-1106-preview", "gpt4_1106_preview"} <= set(table["model"])
    alone = alpaca_eval.load(shared_data / "alpaca-eval" / "results.zip").outcomes
    assert (table["model"] == "gpt4_1106_preview").sum() == (alone["model"] == "gpt4_1106_preview").sum()
    bench = routerbench.load(shared_data / "routerbench-subset").outcomes
    ours = table[zoo_of(table["query_id"]) == "routerbench"]
    assert ours["score"].sum() == pytest.approx(bench["score"].sum())


def test_every_query_has_its_kind(table: pd.DataFrame) -> None:
    assert table["kind"].notna().all() and set(table["kind"]) == set(KINDS)
    kind = table.drop_duplicates("query_id").set_index("query_id")["kind"]
    assert kind["routerdc/gsm8k/train/0"] == "math" and kind["routerdc/cmmlu/test/0"] == "chinese"
    assert kind["alpaca-eval/0"] == "chat" and kind["mmlu-pro/70"] == "knowledge"
    by_task = table.groupby("task")["kind"].unique()
    assert by_task["winogrande"].tolist() == ["reasoning"] and by_task["humaneval"].tolist() == ["code"]


def test_import_all_names_a_missing_zoo_folder(cli, tmp_path: Path) -> None:
    result = cli("import", "all", tmp_path, "-o", tmp_path / "all.parquet")
    assert result.code == 1 and f"{tmp_path / 'mmlu-pro'}: missing" in result.stderr.replace("\n", "")
    assert not (tmp_path / "all.parquet").exists()


OWN_IMPORTS = {"mmlu-pro": mmlu_pro, "routerdc": routerdc, "routerbench": routerbench, "alpaca-eval": alpaca_eval}


@pytest.mark.parametrize("zoo", sorted(OWN_IMPORTS))
def test_every_zoo_is_its_own_import(
    table: pd.DataFrame, shared_data: Path, zoo: str, request: pytest.FixtureRequest
) -> None:
    """The same (model, query) pairs, split (declared and routed), domain, prompt, task and score as `import <zoo>`."""
    folder, _ = ZOO_SOURCES[zoo]
    if zoo == "mmlu-pro":  # the session's own import of it
        imported = request.getfixturevalue("mmlu_outcomes")
    else:
        imported = OWN_IMPORTS[zoo].load(shared_data / folder).outcomes
    own = validate_outcomes(imported, zoo)
    ours = rows_of_zoo(table, zoo)
    assert differences(ours, own) == []  # columns too: MMLU-Pro keeps its `category` (per-category routes by it)
    assert ("category" in ours) == (zoo == "mmlu-pro") and "kind" not in ours
    assert sorted(ours["model"].unique()) == sorted(own["model"].unique())  # each zoo's models, as it names them
    assert (split_of(ours["query_id"], declared_splits(ours)) == "test").sum() > 0


def test_differences_names_what_differs(table: pd.DataFrame) -> None:
    own = rows_of_zoo(table, "routerdc")
    ours = own.copy()
    ours.loc[0, "score"] = 1 - ours.loc[0, "score"]
    train = ours.index[ours["split"] == "train"][0]
    ours.loc[train, "split"] = "test"
    found = differences(ours.drop(index=ours.index[-1]), own.assign(category="math"))
    assert found[0] == "column 'category' only in the own import table"
    assert found[1].startswith("1 (model, query_id) pair(s) only in the own import table")
    assert [f.split(":")[0] for f in found[2:]] == ["score", "split", "routed_split"]
    assert f"({own.loc[train, 'model']}, {own.loc[train, 'query_id']}): 'test' against 'train'" in found[3]


def test_rows_of_zoo_names_the_zoos(table: pd.DataFrame) -> None:
    with pytest.raises(
        ConfigError, match="unknown zoo 'chat'.*choose from mmlu-pro, routerdc, routerbench, alpaca-eval"
    ):
        rows_of_zoo(table, "chat")
