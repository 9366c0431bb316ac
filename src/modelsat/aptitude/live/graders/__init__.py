"""Graders of live answers, one per kind of question (docs/aptitude.md, "Live profiling").

Modules: `base` (the `Grader` interface and `Verdict`), `registry` (task label -> kind -> class),
`choice` (option letter + circle test), `math` (final number), `code` (tests run in `sandbox`),
`judge` (a judge model's position-swapped preference over a reference answer), `references`
(GSM8K, HumanEval and AlpacaEval reference answers matched on the question text).
"""
