"""Capability instruction tuning (Model-SAT §3.4): data, losses, mixing, the training loop, writing the router."""
