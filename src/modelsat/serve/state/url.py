"""The `state:` field of serve.yaml: `memory`, or the URL of the Redis every replica shares.

Example:
    check_state_url("redis://127.0.0.1:6379/0")   # returned unchanged
    check_state_url("redis:/127.0.0.1")           # ValueError naming what is wrong
"""

from urllib.parse import urlsplit

MEMORY = "memory"
SCHEMES = ("redis", "rediss")


def check_state_url(value: str) -> str:
    """`value` when it is `memory` or a `redis://HOST:PORT/DB` URL.

    Raises:
        ValueError: naming what is wrong with the URL (pydantic reports it under the field `state`).
    """
    if value == MEMORY:
        return value
    parts = urlsplit(value)
    shown = value.replace(f":{parts.password}@", ":***@", 1) if parts.password else value  # errors hide passwords
    if parts.scheme not in SCHEMES:
        raise ValueError(f"expected 'memory' or redis://HOST:PORT/DB, got {shown!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{shown!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname or port == 0:
        raise ValueError(f"{shown!r}: expected redis://HOST:PORT/DB with a host name")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValueError(f"{shown!r}: the database after the last '/' must be a number, got {db!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{shown!r}: expected redis://HOST:PORT/DB without options")
    return value
