"""Aptitude test (core-task selection), capability cards and live profiling (Model-SAT §3.1)."""
