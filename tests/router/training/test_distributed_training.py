"""`accelerate launch` with two processes (gloo on the CPU, the same DDP path as several GPUs)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from router_doubles import TINY_TRAIN, synthetic_outcomes

from modelsat.data.schema import validate_outcomes, write_outcomes


def test_accelerate_launch_trains_with_two_processes(tiny_specs, tmp_path):
    write_outcomes(validate_outcomes(synthetic_outcomes(), "synthetic"), tmp_path / "outcomes.parquet")
    train = TINY_TRAIN | {"stage1_steps": 2, "stage2_steps": 2}
    router = {"llm": tiny_specs["llm"], "encoder": tiny_specs["encoder"], "lora": {"r": 2}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"router": router, "train": train}))
    launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    command = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "-m", "modelsat.cli.main", "train"]
    command += ["--outcomes", str(tmp_path / "outcomes.parquet"), "--models", "mathy,historian"]
    command += ["--config", str(tmp_path / "config.yaml"), "-o", str(tmp_path / "router")]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "router" / "metrics.json").read_text())
    assert metrics["processes"] == 2, done.stderr[-3000:]
    assert [h["step"] for h in metrics["history"]] == [0, 2, 4]
    assert done.stderr.count("router written to") == 1
