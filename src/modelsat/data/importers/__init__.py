"""Importers turn benchmark result files into the canonical outcomes table.

Each importer is `load(source: Path) -> ImportResult`; bad records are skipped and counted.

Example:
    result = mmlu_pro.load(Path("../shared/data/mmlu-pro"))
    print(len(result.outcomes), result.n_skipped, result.skipped)
"""

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ImportResult:
    """Rows imported plus, per file, how many records were skipped and why, and notes for the user."""

    outcomes: pd.DataFrame
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, file: str, reason: str, count: int = 1) -> None:
        """Count `count` skipped records of `file` for `reason`."""
        per_file = self.skipped.setdefault(file, {})
        per_file[reason] = per_file.get(reason, 0) + count

    @property
    def n_skipped(self) -> int:
        """Total skipped records over all files."""
        return sum(sum(r.values()) for r in self.skipped.values())
