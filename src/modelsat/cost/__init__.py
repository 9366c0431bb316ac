"""Cost-aware routing: model prices, per-query cost estimates and the quality–cost decision rule.

Example:
    from modelsat.cost.policy import decide
    from modelsat.cost.prices import load_prices
    prices = load_prices("configs/prices/mixed.yaml")
    costs = prices.estimate(["What is 2 + 2?"], models)  # (1, n_models) USD
    decision = decide(p_yes, costs, lam=200.0)            # argmax P(Yes) - λ·cost
"""
