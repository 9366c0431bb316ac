"""The Model-SAT router: capability encoder + connector + capability LLM (Model-SAT §3.2-3.3)."""
