"""modelsat: route each instruction to the LLM most likely to answer it well (Model-SAT)."""

__version__ = "0.1.0"
