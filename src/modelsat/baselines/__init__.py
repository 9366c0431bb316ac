"""Baseline routers (DESIGN §2): each is a `Router` (learned ones a `TrainableRouter`) in its own module.

Importing this package loads no torch, transformers or sklearn; `registry` resolves names lazily.

Example:
    from modelsat.baselines.registry import BASELINES
    router = BASELINES.create("per-category", seed=0).fit(train_rows, models)
    choice = router.score(test_queries, models).argmax(axis=1)
"""
