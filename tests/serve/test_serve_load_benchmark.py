"""`benchmarks/serve_load.py` runs end to end: echo backends, the proxy and the load, every request answered."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_serve_load_with_the_fake_scorer_answers_every_request() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serve_load.py"), "--scorer", "fake", "--requests", "20"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["errors"] == 0
    assert summary["scoring_calls"] >= 1
    assert summary["requests_per_s"] > 0
