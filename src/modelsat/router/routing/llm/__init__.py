"""The capability LLM's part of routing (Model-SAT §3.3): the network, prompt layout, shared-prefix scoring."""
