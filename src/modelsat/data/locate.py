"""Where the shared benchmark data lives: `$MODELSAT_DATA`, else `../shared/data` when present.

Example:
    mmlu_dir = data_dir() / "mmlu-pro"
"""

import os
from pathlib import Path

from modelsat.errors import DataError

ENV_VAR = "MODELSAT_DATA"


def data_dir() -> Path:
    """Return the data folder, raising a `DataError` that says how to set it when none exists."""
    env = os.environ.get(ENV_VAR)
    repo_root = Path(__file__).resolve().parents[3]
    candidates = [Path(env)] if env else [Path.cwd().parent / "shared" / "data", repo_root.parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise DataError(
        f"no data folder found (looked at {', '.join(map(str, candidates))}); "
        f"set {ENV_VAR} to the folder holding mmlu-pro/ and routerbench-subset/"
    )
