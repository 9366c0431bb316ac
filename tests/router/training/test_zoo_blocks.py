"""Training on several zoos at once: each zoo a block of its own models (router/training/zoo_blocks.py), on tiny
random-weight models and synthetic outcomes namespaced like `modelsat import all`'s, and on the real all-zoos table."""

import numpy as np
import pandas as pd
import pytest
from router_doubles import TINY_TRAIN, synthetic_outcomes

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.aptitude.cards import load_cards
from modelsat.data.schema import write_outcomes
from modelsat.data.splits import split_of
from modelsat.errors import ConfigError
from modelsat.router.config import ModelsatConfig, TrainConfig
from modelsat.router.routing.calibration import CALIBRATION_FILE
from modelsat.router.routing.folder import read_router_config
from modelsat.router.routing.readout_choice import routed
from modelsat.router.routing.readout_validation import validation_matrix
from modelsat.router.training import train as train_module
from modelsat.router.training.train import train_router
from modelsat.router.training.training_data import OTHER_ZOO, ScoreMatrix, zoo_matrices
from modelsat.router.training.zoo_blocks import draw_block, leaked_query_ids, selection_models, zoo_blocks


def two_zoos() -> pd.DataFrame:
    """`mathy` and `historian` answer the `mmlu-pro/` queries, `mathy` and `poet` the `alpaca-eval/` ones (the
    synthetic outcomes twice, under the ids of two zoos of `import all`)."""
    first = synthetic_outcomes().assign(query_id=lambda t: "mmlu-pro/" + t["query_id"])
    second = synthetic_outcomes().assign(
        query_id=lambda t: "alpaca-eval/" + t["query_id"],
        model=lambda t: t["model"].replace({"historian": "poet"}),
        prompt=lambda t: t["prompt"] + " (chat)",
    )
    return pd.concat([first, second], ignore_index=True)


def two_zoo_test(outcomes: pd.DataFrame) -> AptitudeSet:
    """An aptitude test of each zoo's math and history questions, five train questions a task: every model is
    tested in its own zoo only (`mathy` in both)."""
    train = outcomes[split_of(outcomes["query_id"]) == "train"].drop_duplicates("query_id")
    tasks = []
    for zoo in ("mmlu-pro", "alpaca-eval"):
        for subject in ("mathematics", "history"):
            ids = train.loc[train["query_id"].str.startswith(zoo) & train["task"].str.contains(subject), "query_id"]
            tasks.append(CoreTask(f"{zoo}/{subject}", subject, tuple(ids[:5]), "knowledge"))
    return AptitudeSet(tasks=tuple(tasks), zoo=("mathy", "historian", "poet"), seed=0)


def test_each_zoo_is_a_matrix_of_its_own_models():
    outcomes = two_zoos()
    matrices = zoo_matrices(outcomes, ["mathy", "historian", "poet"], "train")
    assert sorted(matrices) == ["alpaca-eval", "mmlu-pro"]
    assert matrices["mmlu-pro"].models == ["mathy", "historian"]
    assert matrices["alpaca-eval"].models == ["mathy", "poet"]
    for zoo, matrix in matrices.items():
        assert all(q.startswith(zoo + "/") for q in matrix.query_ids)
        assert not np.isnan(matrix.scores).any()
    # before zoos had blocks the whole table was one matrix answered by every model: none here
    with pytest.raises(Exception, match="answered by all"):
        ScoreMatrix.from_outcomes(outcomes, ["mathy", "historian", "poet"], "train")


def test_a_table_of_one_zoo_is_one_matrix_as_before():
    outcomes = synthetic_outcomes()  # ids name no zoo of `import all`
    ((zoo, matrix),) = zoo_matrices(outcomes, ["mathy", "historian"], "train").items()
    before = ScoreMatrix.from_outcomes(outcomes, ["mathy", "historian"], "train")
    assert zoo == OTHER_ZOO
    assert list(matrix.query_ids) == list(before.query_ids)
    assert np.array_equal(matrix.scores, before.scores)


def test_selection_models_count_per_zoo_and_never_take_a_model_of_two_zoos():
    outcomes = two_zoos()
    extra = [
        outcomes[outcomes["model"] == "poet"].assign(model=name, score=lambda t, s=s: (t["score"] * s).round())
        for name, s in (("bard", 0.5), ("scribe", 1.0), ("muse", 0.0))
    ]
    outcomes = pd.concat([outcomes, *extra], ignore_index=True)
    zoo = ["mathy", "historian", "poet", "bard", "scribe", "muse"]
    picked = selection_models(outcomes, zoo, TrainConfig(selection_models={"alpaca-eval": 2}), exclude=())
    assert len(picked) == 2 and "mathy" not in picked  # mathy answers both zoos: always trained on
    assert set(picked) <= {"poet", "bard", "scribe", "muse"}
    with pytest.raises(ConfigError, match="mmlu-pro"):  # 1 of its 2 models held out leaves one to train on
        selection_models(outcomes, zoo, TrainConfig(selection_models=1), exclude=())


def test_a_training_query_another_zoo_tests_on_is_left_out():
    outcomes = two_zoos()
    split = pd.Series(split_of(outcomes["query_id"]), index=outcomes.index)
    test_prompt = outcomes.loc[(split == "test") & outcomes["query_id"].str.startswith("mmlu-pro/"), "prompt"].iloc[0]
    train_row = outcomes.index[(split == "train") & outcomes["query_id"].str.startswith("alpaca-eval/")][0]
    copied = outcomes["query_id"] == outcomes.loc[train_row, "query_id"]
    outcomes.loc[copied, "prompt"] = test_prompt  # the chat zoo trains on a question MMLU-Pro tests on
    leaked = leaked_query_ids(outcomes)
    assert leaked == {outcomes.loc[train_row, "query_id"]}
    assert leaked_query_ids(synthetic_outcomes()) == set()  # one zoo: nothing to leak into


def test_validation_routes_each_query_among_its_zoos_models_and_weighs_the_zoos_alike():
    outcomes = two_zoos()
    models = ["mathy", "historian", "poet"]
    matrices = zoo_matrices(outcomes, models, "validation")
    by_query = outcomes.drop_duplicates("query_id").set_index("query_id")
    matrix, weights = validation_matrix(matrices, models, by_query)
    assert weights.sum() == pytest.approx(1.0)
    zoo = np.array([q.split("/")[0] for q in matrix.query_ids])
    assert weights[zoo == "mmlu-pro"].sum() == pytest.approx(0.5)
    assert np.isnan(matrix.scores[zoo == "mmlu-pro", 2]).all()  # the poet answered no MMLU-Pro query
    scores = np.zeros_like(matrix.scores)
    scores[:, 2] = 10.0  # the poet ranked first everywhere: still never chosen where it has no outcome
    outcome = routed(scores, matrix.scores)
    assert not np.isnan(outcome).any()
    assert np.array_equal(outcome[zoo == "mmlu-pro"], matrix.scores[zoo == "mmlu-pro", 0])
    # as one mixed zoo: the poet takes every query, and those it never answered count as wrong
    mixed = routed(scores, matrix.scores, mixed=True)
    assert (mixed[zoo == "mmlu-pro"] == 0.0).all()
    assert np.array_equal(mixed[zoo == "alpaca-eval"], matrix.scores[zoo == "alpaca-eval", 2])


def test_blocks_draw_zoos_by_their_training_queries():
    outcomes = two_zoos()
    models = ["mathy", "historian", "poet"]
    aptitude_ids: list[str] = []
    cfg = TrainConfig(max_train_queries={"mmlu-pro": 20}, val_queries=10)
    blocks = zoo_blocks(outcomes, models, [], cfg, {m: m for m in models}, aptitude_ids)
    sizes = {b.zoo: len(b.train.prompts) for b in blocks}
    assert sizes["mmlu-pro"] == 20 and sizes["alpaca-eval"] > 20
    assert all(len(b.val.prompts) == 10 for b in blocks)
    assert {b.zoo: b.cards for b in blocks} == {"alpaca-eval": ["mathy", "poet"], "mmlu-pro": ["mathy", "historian"]}
    rng = np.random.default_rng(0)
    drawn = [draw_block(blocks, rng).zoo for _ in range(2000)]
    share = drawn.count("mmlu-pro") / len(drawn)
    assert share == pytest.approx(20 / (20 + sizes["alpaca-eval"]), abs=0.03)
    with pytest.raises(ConfigError, match="one zoo"):
        zoo_blocks(outcomes, models, [], TrainConfig(select_by="aiq"), {m: m for m in models}, aptitude_ids)


def test_a_router_trains_on_two_zoos_comparing_each_zoos_models_only(tiny_specs, tmp_path, monkeypatch, cli):
    outcomes = two_zoos()
    models = ["mathy", "historian", "poet"]
    seen: list[int] = []
    listwise = train_module.instruction_listwise_loss

    def spy(scores, targets):
        assert not targets.isnan().any()
        seen.append(scores.shape[1])
        return listwise(scores, targets)

    monkeypatch.setattr(train_module, "instruction_listwise_loss", spy)
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 4}})
    result = train_router(outcomes, models, cfg, tmp_path / "router", aptitude=two_zoo_test(outcomes))
    assert set(seen) == {2}  # every step scored one zoo's two models
    last = result.history[-1]
    assert {"val_accuracy_mmlu-pro", "val_accuracy_alpaca-eval"} <= set(last)
    assert last["val_accuracy"] == pytest.approx((last["val_accuracy_mmlu-pro"] + last["val_accuracy_alpaca-eval"]) / 2)
    assert (tmp_path / "router" / CALIBRATION_FILE).is_file()
    assert not (tmp_path / "router" / "checkpoints" / "prefixes").exists()
    # `modelsat calibrate` refits it the same way: each zoo's queries among its own models
    table = tmp_path / "outcomes.parquet"
    write_outcomes(outcomes, table)
    (tmp_path / "router" / CALIBRATION_FILE).unlink()
    code, out, err = cli("calibrate", "--router", tmp_path / "router", "--outcomes", table, "--mode", "full")
    assert code == 0, err
    assert "each among its zoo's: alpaca-eval, mmlu-pro" in " ".join(err.split())
    assert (tmp_path / "router" / CALIBRATION_FILE).is_file()


def test_a_zoo_left_out_of_training_joins_by_its_models_cards(tiny_specs, tmp_path):
    outcomes = two_zoos()
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"]}
    cfg = ModelsatConfig.model_validate({"router": router, "train": TINY_TRAIN | {"stage1_steps": 2}})
    aptitude = two_zoo_test(outcomes)
    result = train_router(
        outcomes, ["mathy", "historian"], cfg, tmp_path, aptitude=aptitude, new_models=["poet"], zoos=["mmlu-pro"]
    )
    assert "val_accuracy_alpaca-eval" not in result.history[-1]
    assert read_router_config(tmp_path)[1]["zoos"] == ["mmlu-pro"]
    poet = load_cards(tmp_path / "cards.json")["poet"]  # tested on the chat zoo's questions alone
    tested = {s.task for s in poet.scores if s.accuracy is not None}
    assert tested == {"alpaca-eval/mathematics", "alpaca-eval/history"}
