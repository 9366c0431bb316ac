"""What `evaluate` runs: the zoo, the baselines, the sample of test queries and the optional report sections.

Example:
    options = EvalOptions(models=list(SMALL_5), baselines=["best-single", "oracle", "random"], limit=500)
"""

from dataclasses import dataclass, field

from modelsat.baselines.registry import BASELINES
from modelsat.cost.prices import PriceTable
from modelsat.cost.targets import TargetCurve


@dataclass
class EvalOptions:
    """What to evaluate. `baselines` are registry names (best-single, oracle and random are always added).

    With `cost`, the report gets the quality–cost frontier (`evaluation/frontier.py`): costs come from
    `prices` when given, else from the outcomes' `cost` column; `pair` = (strong, weak) for APGR / CPT
    (default: the best single model and the cheapest model); `target_curves` (method → its calibrated targets)
    adds how each target holds on the test queries (`evaluation/targets.py`).
    """

    models: list[str]
    baselines: list[str] = field(default_factory=lambda: BASELINES.names())
    zoo_name: str | None = None
    aptitude_ids: frozenset[str] | None = None
    limit: int | None = None
    seed: int = 0
    holdout: list[str] = field(default_factory=list)
    n_timing: int = 16
    curve_subsets: int = 8
    cost: bool = False
    prices: PriceTable | None = None
    pair: tuple[str, str] | None = None
    target_curves: dict[str, TargetCurve] = field(default_factory=dict)
