import json
import subprocess
import sys
import types

from eval_fixtures import MODELS, TopicRouter
from typer.testing import CliRunner

from modelsat.aptitude.aptitude_set import AptitudeSet, CoreTask
from modelsat.cli.main import app
from modelsat.data.schema import write_outcomes
from modelsat.router.config import ModelsatConfig
from modelsat.router.routing.folder import RouterFolder


def test_evaluate_writes_report_markdown_and_plots(synthetic_outcomes, tmp_path) -> None:
    write_outcomes(synthetic_outcomes, tmp_path / "o.parquet")
    args = ["evaluate", "--outcomes", str(tmp_path / "o.parquet"), "--models", ",".join(MODELS)]
    args += ["--baselines", "per-task,tfidf-knn", "-o", str(tmp_path / "r.json"), "--holdout", "C"]
    args += ["--markdown", str(tmp_path / "r.md"), "--plots", str(tmp_path / "plots")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["methods"]) == {"best-single", "oracle", "random", "per-task", "tfidf-knn"}
    assert report["new_models"]["models"] == ["C"]
    assert "| **oracle** |" in result.stdout and "Model-SAT not evaluated" in result.stdout
    assert (tmp_path / "r.md").read_text() in result.stdout
    plots = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert plots == ["candidates.png", "methods.png", "new-models.png", "share.png"]


def test_unknown_baseline_is_a_usage_error(synthetic_outcomes, tmp_path) -> None:
    write_outcomes(synthetic_outcomes, tmp_path / "o.parquet")
    args = ["evaluate", "--outcomes", str(tmp_path / "o.parquet"), "--models", "A,B", "--baselines", "per-tsk"]
    proc = subprocess.run(
        [sys.executable, "-m", "modelsat.cli.main", *args, "-o", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Error: unknown baseline 'per-tsk'. Did you mean 'per-task'" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_router_option_loads_model_sat_and_its_aptitude_set(synthetic_outcomes, tmp_path, monkeypatch) -> None:
    calls = []
    fake = types.ModuleType("modelsat.router.routing.service")
    fake.load_router = lambda router_dir, cards, mode: calls.append((router_dir, cards, mode)) or TopicRouter()
    fake.METHOD_NAMES = {"full": "model-sat", "fast": "model-sat-fast"}
    monkeypatch.setitem(sys.modules, "modelsat.router.routing.service", fake)
    router_dir = tmp_path / "router"
    aptitude = AptitudeSet(tasks=(CoreTask("mmlu/math", "math", ("syn/0", "syn/3")),), zoo=tuple(MODELS), seed=0)
    folder = RouterFolder(router_dir, ModelsatConfig(), {}, aptitude, {}, None, None, {})
    reads = []
    monkeypatch.setattr(RouterFolder, "read", lambda path, **_: reads.append(path) or folder)
    write_outcomes(synthetic_outcomes, tmp_path / "o.parquet")
    args = [
        "evaluate",
        "--outcomes",
        str(tmp_path / "o.parquet"),
        "--models",
        ",".join(MODELS),
        "--baselines",
        "oracle",
    ]
    args += ["--router", str(router_dir), "--cards", str(tmp_path / "cards.json"), "-o", str(tmp_path / "r.json")]
    args += ["--mode", "full"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert reads == [router_dir], "the router directory is read once"
    assert calls == [(folder, tmp_path / "cards.json", "full")]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["model_sat_included"] and report["aptitude_excluded"] == 2
    assert report["timing"]["method"] == "model-sat"
    assert "| **model-sat** |" in result.stdout


def test_all_baselines_take_the_zero_shot_peers_only_with_an_aptitude_set() -> None:
    from modelsat.cli.evaluate import _all_baselines

    assert {"card-lookup", "uniroute", "knn"} <= set(_all_baselines(have_aptitude=True))
    assert not {"card-lookup", "uniroute"} & set(_all_baselines(have_aptitude=False))
    assert "knn" in _all_baselines(have_aptitude=False)
