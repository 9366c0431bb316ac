"""docs/data.md: the example files and commands of the guide run as written and give the stated figures."""

import json
import re
import shlex
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
FILE_BLOCK = re.compile(r"```\w+ (?P<name>[\w.]+)\n(?P<body>.*?)```", re.S)
COMMAND = re.compile(r"^\$ modelsat (?P<args>.+)$", re.M)


def test_guide_example_runs(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOC.read_text()
    files = {m["name"]: m["body"] for m in FILE_BLOCK.finditer(text)}
    assert sorted(files) == ["more.jsonl", "my_zoo.csv"]
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    results = [cli(*shlex.split(m["args"])) for m in COMMAND.finditer(text)]
    assert [r.code for r in results] == [0, 0, 0]

    imported, info, appended = results
    assert "skipped 1 record(s) in my_zoo.csv: no score for gpt-large" in imported.stderr
    models = json.loads(info.stdout)["models"]
    assert models["gpt-small"]["queries"] == 3 and round(models["gpt-small"]["accuracy"], 4) == 0.6667
    assert models["gpt-large"] == {"queries": 2, "accuracy": 1.0, "mean_cost": 0.002}
    assert "now holds 7 rows" in appended.stderr
