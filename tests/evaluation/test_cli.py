import json
import subprocess
import sys

from conftest import MODELS
from typer.testing import CliRunner

from modelsat.cli.main import app
from modelsat.data.schema import write_outcomes


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
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["candidates.png", "methods.png", "share.png"]


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
