"""Named API keys (`keys.yaml`): who may call the proxy, how often, and which routed profiles.

    keys:
      - name: team-math                 # shown in metrics and logs (the key itself never is)
        key_sha256: 9f86d081884c7d65...  # sha256 of the key (`printf %s "$KEY" | sha256sum`), or `key: <the key>`
        rpm: 60                         # requests per minute (sliding 60 s window); omit for no limit
        profiles: [math]                # optional: only `modelsat/math` may be requested with this key
      - name: ops
        key: change-me
        admin: true                     # may POST /admin/reload
        budget_usd: 5.0                 # optional: USD per budget_period (day or month, UTC), then 429

A request over its key's limit gets 429 with `Retry-After` (seconds until the window has room again).
Keys are compared as sha256 digests with `hmac.compare_digest`, against every configured key.

Example:
    ring = KeyRing.load(Path("keys.yaml"), environ)
    key = ring.identify("Bearer change-me")   # ApiKey(name="ops", ...) or None
    wait = ring.limiter.admit(key)            # None, or seconds to wait (answer 429)
"""

import hashlib
import hmac
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from modelsat.errors import ConfigError
from modelsat.serve.auth import API_KEYS_ENV, api_keys_from_env

WINDOW_S = 60.0


class KeyEntry(BaseModel):
    """One entry of `keys.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Name reported in metrics and logs instead of the key.")
    key: str | None = Field(default=None, min_length=1, description="The key itself (prefer key_sha256).")
    key_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Hex sha256 of the key, so the file holds no secret."
    )
    rpm: int | None = Field(default=None, ge=1, description="Requests per minute; none means no limit.")
    profiles: list[str] | None = Field(
        default=None, min_length=1, description="Routed names after `modelsat/` this key may request; none: any."
    )
    admin: bool = Field(default=False, description="May call POST /admin/reload.")
    budget_usd: float | None = Field(
        default=None, gt=0, description="Most USD this key may spend per `budget_period` (priced backends); none: any."
    )
    budget_period: Literal["day", "month"] = Field(default="day", description="Period of `budget_usd` (UTC).")

    @model_validator(mode="after")
    def _one_secret(self) -> "KeyEntry":
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of 'key' or 'key_sha256'")
        return self

    @property
    def digest(self) -> bytes:
        """The sha256 digest the presented key is compared with."""
        if self.key_sha256 is not None:
            return bytes.fromhex(self.key_sha256)
        assert self.key is not None
        return hashlib.sha256(self.key.encode()).digest()


class KeysFile(BaseModel):
    """The whole `keys.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[KeyEntry] = Field(min_length=1, description="The accepted keys.")

    @model_validator(mode="after")
    def _unique(self) -> "KeysFile":
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError(f"key names must be unique: {sorted({n for n in names if names.count(n) > 1})}")
        if len({k.digest for k in self.keys}) != len(self.keys):
            raise ValueError("two entries hold the same key")
        return self


class RateLimiter:
    """Requests per minute per key name, over a sliding 60 s window; kept across reloads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def admit(self, name: str, rpm: int | None) -> float | None:
        """Count a request of key `name`; None when admitted, else the seconds until one would be."""
        if rpm is None:
            return None
        now = self._clock()
        seen = self._seen.setdefault(name, deque())
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        if len(seen) >= rpm:
            return seen[len(seen) - rpm] + WINDOW_S - now
        seen.append(now)
        return None

    def remaining(self, name: str, rpm: int) -> int:
        """Requests key `name` may still make in the current window."""
        return max(0, rpm - self.used(name))

    def used(self, name: str) -> int:
        """Requests key `name` made in the last 60 s."""
        since = self._clock() - WINDOW_S
        return sum(t > since for t in self._seen.get(name, ()))

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the windows of keys no longer configured."""
        keep = set(keep)
        for name in set(self._seen) - keep:
            del self._seen[name]


class KeyRing:
    """The accepted keys: from a keys file, from MODELSAT_API_KEYS (named `env-1`, `env-2`, ...; admin, no
    limit), or none (authentication off)."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self.entries = list(entries)

    @classmethod
    def load(cls, path: Path | None, environ: Mapping[str, str]) -> "KeyRing":
        """The keys of `path` (when given) and of MODELSAT_API_KEYS.

        Raises:
            ConfigError: an unreadable or invalid keys file, naming the file and the bad entry's field.
        """
        env = cls.plain(api_keys_from_env(environ))
        if path is None:
            return cls(env)
        try:
            raw = yaml.safe_load(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read keys file ({exc.strerror or exc})") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        try:
            parsed = KeysFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"{path}: {problems}") from None
        clash = {k.name for k in parsed.keys} & {k.name for k in env}
        if clash:
            raise ConfigError(f"{path}: key name(s) {sorted(clash)} are reserved for {API_KEYS_ENV}")
        return cls([*parsed.keys, *env])

    @staticmethod
    def plain(keys: Iterable[str]) -> list[KeyEntry]:
        """Entries for plain keys (MODELSAT_API_KEYS): named `env-1`, `env-2`, ... in order, admin, no limit."""
        return [KeyEntry(name=f"env-{i}", key=k, admin=True) for i, k in enumerate(keys, 1)]

    @property
    def enabled(self) -> bool:
        """Whether requests must carry a key."""
        return bool(self.entries)

    def identify(self, header: str | None) -> KeyEntry | None:
        """The entry whose key the `Authorization: Bearer <key>` header carries; None when none does."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        given = hashlib.sha256(token.encode()).digest()
        found = None
        for entry in self.entries:  # no early exit: the same work whichever key matches
            if hmac.compare_digest(given, entry.digest):
                found = entry
        return found

    def check_profiles(self, known: Iterable[str], where: Path | None) -> None:
        """Fail when a key allows a profile the serve config does not define.

        Raises:
            ConfigError: naming the key, the profile and the known names.
        """
        known = set(known)
        for entry in self.entries:
            unknown = sorted(set(entry.profiles or ()) - known)
            if unknown:
                raise ConfigError(
                    f"{where}: key {entry.name!r} allows unknown profile(s) {unknown} (known: {sorted(known)})"
                )


def retry_after_seconds(wait_s: float) -> int:
    """`Retry-After` in whole seconds, never 0."""
    return max(1, math.ceil(wait_s))
