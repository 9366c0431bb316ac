"""The 429 a key gets over its rate limit or its spend budget (OpenAI's shapes, so SDKs react as they do there).

Example:
    raise refusal_error(key, Refusal("budget", wait_s=3600.0, spent_usd=5.02))
"""

import logging

from modelsat.serve.api import APIError
from modelsat.serve.keys import KeyEntry, retry_after_seconds
from modelsat.serve.state.ledger import Refusal

log = logging.getLogger(__name__)


def refusal_error(key: KeyEntry, refusal: Refusal) -> APIError:
    """429 with `Retry-After`: `rate_limit_exceeded` over `rpm`, `budget_exceeded` once `budget_usd` is spent."""
    seconds = retry_after_seconds(refusal.wait_s)
    if refusal.kind == "requests":
        log.info("key %s over its limit of %d requests/min; retry after %d s", key.name, key.rpm, seconds)
        return APIError(
            429,
            f"rate limit of {key.rpm} requests per minute reached for key {key.name!r}; retry after {seconds} s",
            "requests",
            "rate_limit_exceeded",
            headers={
                "retry-after": str(seconds),
                "x-ratelimit-limit-requests": str(key.rpm),
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{seconds}s",
            },
        )
    log.info("key %s has spent its budget of %s USD per %s", key.name, key.budget_usd, key.budget_period)
    return APIError(
        429,
        f"key {key.name!r} has spent its budget of {key.budget_usd:g} USD per {key.budget_period} "
        f"({refusal.spent_usd:.6g} USD spent); it renews with the next UTC {key.budget_period}, in {seconds} s",
        "insufficient_quota",
        "budget_exceeded",
        headers={"retry-after": str(seconds)},
    )
