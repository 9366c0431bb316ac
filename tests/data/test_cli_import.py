"""`modelsat import ...` through the real entry point: merging, --replace, exit codes and messages."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from modelsat.data.schema import read_outcomes

LONG = "model,query_id,prompt,task,score\nm1,q1,p1,t,1\nm1,q2,p2,t,0\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_append_refuse_duplicates_and_replace(cli, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    first = cli("import", "table", write(tmp_path / "a.csv", LONG), "-o", out)
    assert (first.code, first.stdout) == (0, "")
    assert "imported 2 outcomes of 1 model(s), skipped 0" in first.stderr

    second = cli("import", "table", write(tmp_path / "b.csv", "query_id,prompt,task,m2\nq1,p1,t,0.5\n"), "-o", out)
    assert second.code == 0 and "now holds 3 rows" in second.stderr

    before = out.read_bytes()
    again = cli("import", "table", write(tmp_path / "c.csv", LONG.replace("1\n", "0\n")), "-o", out)
    assert again.code == 1
    assert again.stderr == (
        "Error: 2 (model, query_id) pair(s) already in the table for model(s) m1; pass --replace to overwrite them\n"
    )
    assert out.read_bytes() == before

    replaced = cli("import", "table", tmp_path / "c.csv", "-o", out, "--replace")
    assert replaced.code == 0
    table = read_outcomes(out).set_index(["model", "query_id"])["score"].to_dict()
    assert table == {("m1", "q1"): 0.0, ("m1", "q2"): 0.0, ("m2", "q1"): 0.5}


def test_failing_import_leaves_file_untouched(cli, tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    assert cli("import", "table", write(tmp_path / "a.csv", LONG), "-o", out).code == 0
    before = out.read_bytes()
    bad = write(tmp_path / "bad.csv", "model,query_id,prompt,task,score\nm9,q1,p,t,1.5\n")
    result = cli("import", "table", bad, "-o", out)
    assert result.code == 1
    assert result.stderr == (
        f"Error: {bad}: column 'score' must hold scores in [0, 1]; row 1 (query_id 'q1') has 1.5\n"
    )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "bad.csv", "o.parquet"]


@pytest.mark.parametrize(
    ("command", "name", "content", "problem"),
    [
        ("table", "empty.csv", "", "empty file"),
        ("table", "cols.csv", "model,query_id,score\nm,q,1\n", "missing column(s) prompt, task"),
        ("table", "wide.parquet", "PAR1", "not a readable parquet file"),
        ("mmlu-pro", "model_outputs_x_5shots.zip", "PK\x03\x04", "not a readable zip file"),
        ("routerbench", "rb.csv", "sample_id,prompt,eval_name,m|total_cost,m\na,['q'],mbpp,0.1,7\n", "column 'm'"),
        ("lm-eval", "samples_arc_2024-01-01T00-00-00.jsonl", "<html>", "not a JSON Lines file"),
    ],
)
def test_bad_inputs_give_one_error_line(
    cli, tmp_path: Path, command: str, name: str, content: str, problem: str
) -> None:
    path = write(tmp_path / name, content)
    out = tmp_path / "o.parquet"
    result = cli("import", command, path, "-o", out, *(["--model", "m"] if command == "lm-eval" else []))
    assert result.code == 1
    assert result.stderr.startswith(f"Error: {path}: {problem}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not out.exists()


def test_skips_are_reported_per_file(cli, mmlu_two: Path, tmp_path: Path) -> None:
    result = cli("import", "mmlu-pro", mmlu_two, "-o", tmp_path / "o.parquet")
    assert result.code == 0
    assert result.stderr.splitlines() == [
        "skipped 43 record(s) in model_outputs_DeepSeek-Coder-V2_5shots.zip: record is a str, not an object",
        f"imported 22,383 outcomes of 2 model(s), skipped 43; {tmp_path / 'o.parquet'} now holds 22,383 rows",
    ]


def test_routerbench_command(cli, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "rb.parquet"
    result = cli("import", "routerbench", shared_data / "routerbench-subset", "-o", out)
    assert result.code == 0
    table = pd.read_parquet(out)
    assert table["model"].nunique() == 11 and table["cost"].notna().all()


def test_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path / "scores.jsonl", '{"model": "m", "query_id": "q", "prompt": "p", "task": "t", "score": -1}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "modelsat.cli.main", "import", "table", str(bad), "-o", str(tmp_path / "o.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"Error: {bad}: column 'score' must hold scores in [0, 1]; row 1 (query_id 'q')")
