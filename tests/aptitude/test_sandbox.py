"""The code grader's sandbox under attack: loops, deletions and writes outside its scratch directory,
network connections, memory exhaustion, output floods, early exits. Each answer is graded as a model's."""

import json
import os
import socket
import time
from pathlib import Path

import pytest

from modelsat.aptitude.live.graders.code import CodeGrader, extract_code
from modelsat.aptitude.live.graders.sandbox import Limits, isolation_prefix, run_python
from modelsat.aptitude.live.questions import Asked, Question

LIMITS = Limits(seconds=2.0, memory_mb=512)


def grade(code: str, tests: str = "assert True", limits: Limits = LIMITS):
    """The code grader's verdict on `code` as a fenced reply to a problem whose tests are `tests`."""
    question = Question("mbpp/1", "mbpp/00", "Write f.", kind="code", reference=json.dumps({"tests": tests}))
    return CodeGrader(limits=limits).grade(Asked(question, 0, "", "", generate=True), f"```python\n{code}\n```")


def test_a_right_answer_passes_and_a_wrong_one_fails() -> None:
    assert grade("def f(x):\n    return 2 * x", "assert f(3) == 6").score == 1.0
    wrong = grade("def f(x):\n    return x", "assert f(3) == 6")
    assert (wrong.score, wrong.status, wrong.parsed) == (0.0, "graded", "failed") and "AssertionError" in wrong.detail


def test_a_looping_answer_is_cut_at_its_time_limit_and_graded_wrong() -> None:
    began = time.perf_counter()
    verdict = grade("def f(x):\n    while True:\n        pass", "assert f(3) == 6")
    assert time.perf_counter() - began < LIMITS.seconds + 3
    assert (verdict.score, verdict.status, verdict.parsed) == (0.0, "timeout", "timeout")


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    """A file outside any scratch directory, in a folder anyone may write (so permissions alone do not protect it)."""
    folder = tmp_path / "open-to-all"
    folder.mkdir()
    folder.chmod(0o777)
    path = folder / "precious.txt"
    path.write_text("keep me")
    path.chmod(0o666)
    return path


@pytest.mark.parametrize(
    "attack",
    [
        "import os; os.remove({path!r})",
        "import pathlib; pathlib.Path({path!r}).unlink()",
        "import shutil; shutil.rmtree({folder!r})",
        "import os; os.rename({path!r}, {path!r} + '.gone')",
        "open({path!r}, 'w').write('overwritten')",
        "import subprocess; subprocess.run(['rm', '-f', {path!r}])",
        "import os; os.system('rm -f ' + {path!r})",
        "import ctypes; ctypes.CDLL(None).unlink({path!r}.encode())",
    ],
)
def test_an_answer_cannot_touch_files_outside_its_scratch_directory(precious: Path, attack: str) -> None:
    verdict = grade(attack.format(path=str(precious), folder=str(precious.parent)))
    assert precious.read_text() == "keep me"
    assert (verdict.score, verdict.parsed) == (0.0, "failed") and "PermissionError" in verdict.detail


def test_an_answer_may_use_its_own_scratch_directory_which_is_removed_afterwards() -> None:
    code = "import os, tempfile\nopen('notes.txt', 'w').write('x')\nos.remove('notes.txt')\nprint(os.getcwd())"
    result = run_python(code + "\nassert tempfile.gettempdir() == os.getcwd()", LIMITS)
    assert result.status == "passed", result.output
    scratch = result.output.strip().splitlines()[-1]
    assert "modelsat-sandbox-" in scratch and not Path(scratch).exists()


def test_an_answer_cannot_open_a_network_connection() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        attacks = [
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)",
            f"import _socket; s = _socket.socket(); s.connect(('127.0.0.1', {port}))",
        ]
        for attack in attacks:
            assert grade(attack).score == 0.0
        with pytest.raises(TimeoutError):
            server.accept()  # nobody connected


@pytest.mark.parametrize(
    "hog",
    ["x = bytearray(64 * 2**30)", "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 2**20))"],
)
def test_memory_exhaustion_fails_the_answer_and_the_grader_survives(hog: str) -> None:
    verdict = grade(hog, limits=Limits(seconds=20, memory_mb=256))  # generous time: the machine may be loaded
    assert (verdict.score, verdict.parsed) == (0.0, "failed") and "MemoryError" in verdict.detail
    assert grade("def f():\n    return 1", "assert f() == 1").score == 1.0  # still grading


def test_an_output_flood_is_bounded_and_graded_wrong() -> None:
    verdict = grade("while True:\n    print('x' * 100_000)", limits=Limits(seconds=5, file_mb=1))
    assert verdict.score == 0.0 and len(verdict.detail) <= 500


def test_exiting_before_the_tests_run_is_wrong_and_the_environment_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    assert grade("import sys; sys.exit(0)", "assert False").parsed == "failed"
    monkeypatch.setenv("MODELSAT_SECRET_TOKEN", "s3cret")
    assert grade("import os\nassert 'MODELSAT_SECRET_TOKEN' not in os.environ").score == 1.0


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are dropped only when the grader runs as root")
def test_as_root_the_answer_runs_as_nobody() -> None:
    assert "--reuid=65534" in isolation_prefix()
    assert grade("import os\nassert os.getuid() == 65534 and os.getgid() == 65534").score == 1.0


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("Here:\n```python\nimport math\n```\n```python\ndef f():\n    return 1\n```", "def f():\n    return 1\n"),
        ("```py\nx = 1\n```", "x = 1\n"),
        ("```python\ndef f():\n    return 1", "def f():\n    return 1"),  # cut by max_tokens: no closing fence
        ("    return a + b\n", "    return a + b\n"),  # a bare completion of the prompt
        ("", None),
    ],
)
def test_extract_code(reply: str, code: str | None) -> None:
    assert extract_code(reply) == code
