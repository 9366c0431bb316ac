"""Bearer-token authentication from `MODELSAT_API_KEYS` (comma-separated); no keys means no auth.

Keys are compared with `hmac.compare_digest` against every configured key, so timing reveals neither
which key nor how much of one matched.

Example:
    keys = api_keys_from_env(os.environ)            # MODELSAT_API_KEYS="k1,k2"
    authorized(request.headers.get("authorization"), keys)  # True for "Bearer k1"
"""

import hmac
from collections.abc import Mapping, Sequence

API_KEYS_ENV = "MODELSAT_API_KEYS"


def api_keys_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The accepted keys; empty when the variable is unset or blank."""
    return tuple(k.strip() for k in environ.get(API_KEYS_ENV, "").split(",") if k.strip())


def authorized(header: str | None, keys: Sequence[str]) -> bool:
    """Whether an `Authorization` header carries one of `keys` (always True when `keys` is empty)."""
    if not keys:
        return True
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    given = token.strip().encode()
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]  # no short-circuit: constant work
    return any(matches)
