"""Evaluation (DESIGN §6–7): the same test queries for every method, metrics, `report.json`, tables and plots.

Example:
    from modelsat.evaluation.run import EvalOptions, evaluate
    report = evaluate(outcomes, EvalOptions(models=list(SMALL_5), baselines=["best-single", "oracle"]))
"""
