"""The quality–cost frontier: λ sweeps, RouterBench's AIQ, the zero-router, and RouteLLM's APGR / CPT.

- Each method routes the test queries by argmax utility − λ·cost (`modelsat.cost.policy`) for λ from
  0 (quality only) to ∞ (cheapest model); every λ gives one (mean cost, mean quality) point.
- Non-decreasing convex hull (NDCH): the upper concave envelope of a method's points, cut at its
  best quality and extended flat to the right. Any point on it is reachable by mixing two λ values
  at random (RouterBench, Hu et al. 2024, §3).
- AIQ = (1 / (c_max − c_min)) ∫ NDCH(c) dc over the common cost range of everything compared; a
  hull is 0 below its cheapest point (as RouterBench's `evaluation/AIQ.py` integrates).
- Zero-router: the NDCH of the single models' points (random mixtures of single models).
- Oracle: the λ sweep of the true outcomes (at small λ: the cheapest model that answers correctly).
- APGR / CPT (RouteLLM, Ong et al. 2024, §3.2), for a strong and a weak model: route the queries with
  the largest utility(strong) − utility(weak) to the strong model. PGR = (q − q_weak) / (q_strong −
  q_weak); APGR = mean PGR at 10 %, 20 %, …, 100 % strong calls; CPT(x) = the smallest share of
  strong calls reaching PGR ≥ x.

Example:
    frontier = cost_frontier(y, costs, {"knn": knn_scores}, singles=["a", "b"], strong="a", weak="b",
                             best_single="a")
    frontier["methods"]["knn"]["aiq"], frontier["zero_router"]["aiq"]
"""

from collections.abc import Mapping, Sequence

import numpy as np

from modelsat.cost.policy import as_utility, decide

CPT_TARGETS = (0.5, 0.8)
APGR_BINS = 10


def lambda_grid(cost: np.ndarray, per_decade: int = 10, decades: int = 6) -> list[float]:
    """0, a geometric grid around 1 / mean cost (λ·cost from 1e-3 to 1e3 utility), and ∞."""
    scale = 1.0 / max(float(np.mean(cost)), 1e-12)
    inner = np.geomspace(10 ** (-decades / 2), 10 ** (decades / 2), per_decade * decades + 1) * scale
    return [0.0, *inner.tolist(), float("inf")]


def sweep(utility: np.ndarray, cost: np.ndarray, y: np.ndarray, lambdas: Sequence[float]) -> list[dict]:
    """One {lambda, cost, quality} point per λ: the mean cost and mean outcome of the routed models."""
    rows = np.arange(len(y))
    points = []
    for lam in lambdas:
        choice = decide(utility, cost, lam).choice
        points.append(
            {
                "lambda": "inf" if np.isinf(lam) else float(lam),
                "cost": float(cost[rows, choice].mean()),
                "quality": float(y[rows, choice].mean()),
            }
        )
    return points


def ndch(points: np.ndarray) -> np.ndarray:
    """Non-decreasing convex hull of (cost, quality) points: (k, 2) vertices sorted by cost."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    order = np.lexsort((-pts[:, 1], pts[:, 0]))  # by cost, then best quality first
    hull: list[np.ndarray] = []
    for p in pts[order]:
        if hull and p[0] == hull[-1][0]:
            continue  # same cost, lower quality
        while len(hull) >= 2:
            (ox, oy), (ax, ay) = hull[-2], hull[-1]
            if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) >= 0:  # not a right turn: a is under o–p
                hull.pop()
            else:
                break
        hull.append(p)
    vertices = np.array(hull)
    return vertices[: int(np.argmax(vertices[:, 1])) + 1]


def hull_area(hull: np.ndarray, lo: float, hi: float) -> float:
    """∫_lo^hi of the hull (0 below its first cost, flat after its last), by the trapezoid rule on its vertices."""
    xs, ys = hull[:, 0], hull[:, 1]
    if hi > xs[-1]:
        xs, ys = np.append(xs, hi), np.append(ys, ys[-1])
    start = max(lo, xs[0])
    if hi <= start:
        return 0.0
    grid = np.unique(np.concatenate([[start, hi], xs[(xs > start) & (xs < hi)]]))
    return float(np.trapezoid(np.interp(grid, xs, ys), grid))


def aiq(hull: np.ndarray, lo: float, hi: float) -> float:
    """Average quality of the hull over the cost range [lo, hi] (RouterBench's AIQ)."""
    if hi <= lo:
        return float(hull[:, 1].max())
    return hull_area(hull, lo, hi) / (hi - lo)


def validation_aiq(scores: np.ndarray, cost: np.ndarray, y: np.ndarray) -> float:
    """AIQ of one method's λ sweep over these queries' own cost range (mean cheapest to mean dearest model per
    query): a figure that compares checkpoints scored on the same queries (model selection during training)."""
    points = sweep(as_utility(scores), cost, y, lambda_grid(cost))
    hull = ndch(np.array([[p["cost"], p["quality"]] for p in points]))
    return aiq(hull, float(cost.min(axis=1).mean()), float(cost.max(axis=1).mean()))


def pgr_curve(utility: np.ndarray, y: np.ndarray, strong: int, weak: int) -> tuple[np.ndarray, np.ndarray]:
    """(share of strong calls, PGR) for k = 0..n queries sent to the strong model, largest preference first.

    Returns empty arrays when the strong and weak models have the same quality (PGR undefined).
    """
    ys, yw = y[:, strong], y[:, weak]
    gap = ys.mean() - yw.mean()
    if gap == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-(utility[:, strong] - utility[:, weak]), kind="stable")
    gain = np.concatenate([[0.0], np.cumsum((ys - yw)[order])]) / len(y)  # quality over all-weak, k = 0..n
    share = np.arange(len(y) + 1) / len(y)
    return share, gain / gap


def apgr_cpt(utility: np.ndarray, y: np.ndarray, strong: int, weak: int) -> dict:
    """RouteLLM's APGR and CPT(50 %), CPT(80 %) (shares of strong calls); None where undefined or unreached."""
    share, pgr = pgr_curve(utility, y, strong, weak)
    if not len(share):
        return {"apgr": None, "cpt": {f"{int(100 * t)}": None for t in CPT_TARGETS}}
    n = len(share) - 1
    bins = [pgr[round(n * i / APGR_BINS)] for i in range(1, APGR_BINS + 1)]
    cpt = {}
    for target in CPT_TARGETS:
        reached = np.flatnonzero(pgr >= target - 1e-12)
        cpt[f"{int(100 * target)}"] = float(share[reached[0]]) if reached.size else None
    return {"apgr": float(np.mean(bins)), "cpt": cpt}


def cheapest_at_quality(points: Sequence[dict], target: float) -> dict | None:
    """The cheapest sweep point whose quality reaches `target` (None when none does)."""
    reaching = [p for p in points if p["quality"] >= target - 1e-12]
    return min(reaching, key=lambda p: p["cost"]) if reaching else None


def cost_frontier(
    y: np.ndarray,
    cost: np.ndarray,
    scores: Mapping[str, np.ndarray],
    singles: Sequence[str],
    strong: str,
    weak: str,
    best_single: str,
) -> dict:
    """The whole cost section of a report.

    Args:
        y: (n_queries, n_models) test outcomes.
        cost: (n_queries, n_models) USD per query.
        scores: method → (n_queries, n_models) scores (probabilities, or log-odds: see `as_utility`).
        singles: the model names (column order of `y`).
        strong, weak: the model pair for APGR / CPT.
        best_single: the model whose test quality sets the "same quality" target for cost savings.
    """
    models = list(singles)
    lambdas = lambda_grid(cost)
    single_points = {
        m: {"cost": float(cost[:, j].mean()), "quality": float(y[:, j].mean())} for j, m in enumerate(models)
    }
    curves = {name: sweep(as_utility(s), cost, y, lambdas) for name, s in scores.items()}
    oracle = sweep(y, cost, y, lambdas)
    every = [p for pts in [*curves.values(), oracle, single_points.values()] for p in pts]
    lo, hi = min(p["cost"] for p in every), max(p["cost"] for p in every)
    target = single_points[best_single]
    s, w = models.index(strong), models.index(weak)

    def summary(points: list[dict], utility: np.ndarray | None) -> dict:
        hull = ndch(np.array([[p["cost"], p["quality"]] for p in points]))
        at = cheapest_at_quality(points, target["quality"])
        out = {
            "aiq": aiq(hull, lo, hi),
            "max_quality": float(hull[-1, 1]),
            "cost_at_max_quality": float(hull[-1, 0]),
            "at_best_single_quality": None
            if at is None
            else {**at, "saved": 1 - at["cost"] / target["cost"] if target["cost"] > 0 else None},
            "hull": hull.tolist(),
            "points": points,
        }
        if utility is not None:
            out.update(apgr_cpt(utility, y, s, w))
        return out

    zero_hull = ndch(np.array([[p["cost"], p["quality"]] for p in single_points.values()]))
    return {
        "cost_range": [lo, hi],
        "pair": {"strong": strong, "weak": weak},
        "best_single": {"model": best_single, **target},
        "singles": single_points,
        "zero_router": {
            "cost_at_max_quality": float(zero_hull[-1, 0]),
            "aiq": aiq(zero_hull, lo, hi),
            "hull": zero_hull.tolist(),
            "max_quality": float(zero_hull[-1, 1]),
        },
        "oracle": summary(oracle, y),
        "methods": {name: summary(points, as_utility(scores[name])) for name, points in curves.items()},
    }
