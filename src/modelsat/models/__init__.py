"""Loading the language models modelsat runs locally (router LLM, capability encoder, backends)."""
