"""Errors users can act on. The CLI prints them as one `Error: ...` line (exit code 1).

Example:
    raise DataError("outcomes.parquet: column 'score' has values outside [0, 1] (row 12)")
"""


class ModelsatError(Exception):
    """Base class: a failure whose message tells the user what is wrong and what to do."""


class DataError(ModelsatError):
    """An input file is missing, malformed or not what it claims to be."""


class ConfigError(ModelsatError):
    """A configuration value, model name or option is invalid."""


class RouterError(ModelsatError):
    """A router directory is incomplete or incompatible with its inputs."""


class BackendError(ModelsatError):
    """A model backend (HTTP endpoint or local model) failed."""
