"""`modelsat serve` / `modelsat backend` from the command line: exit codes and one-line errors."""

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "modelsat.cli.main"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_missing_config_is_one_error_line(tmp_path: Path) -> None:
    result = run("serve", "--config", "serve.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "Error: serve.yaml: cannot read serve config (No such file or directory)\n"


def test_missing_router_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "serve.yaml").write_text(
        "router: nowhere\ncards: cards.json\nbackends:\n  m: {base_url: 'http://127.0.0.1:9/v1', model: echo}\n"
    )
    result = run("serve", "--config", "serve.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error: router directory nowhere does not exist (train one with `modelsat train -o DIR`)"
    ]


def test_unknown_backend_model(tmp_path: Path) -> None:
    result = run("backend", "--model", "gpt-4o", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "Error: unknown backend model 'gpt-4o': use 'echo' or 'hf:<model>' (e.g. hf:smollm2)\n"


def test_cli_module_imports_no_server_stack() -> None:
    code = "import sys, modelsat.cli.serve; print(sorted({'fastapi', 'uvicorn', 'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"
