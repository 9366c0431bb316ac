"""`serve.yaml`: where the router lives and which OpenAI-compatible backend answers for each model.

Example:
    cfg = load_serve_config("configs/serve.example.yaml")
    check_against_models(cfg, load_cards(cfg.cards).keys())
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from modelsat.cost.targets import Target
from modelsat.data.zoos import ZOOS, check_models
from modelsat.errors import ConfigError
from modelsat.router.routing.modes import RoutingMode

ROUTED_MODEL = "modelsat"
TARGET_FIELDS = ("quality", "budget", "strong_share")


class Price(BaseModel):
    """Backend price in USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M prompt tokens.")
    output: float = Field(ge=0, description="USD per 1M completion tokens.")


class Tradeoff(BaseModel):
    """A quality–cost trade-off (docs/cost.md): maximise P(Yes) − λ·cost, only among models costing ≤ max_cost; λ
    given, or read off the router's calibrated targets (`quality`, `budget` or `strong_share`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lam: float = Field(default=0.0, ge=0, alias="lambda", description="Utility given up per USD of estimated cost.")
    max_cost: float | None = Field(default=None, ge=0, description="Most USD a request may cost (estimated).")
    quality: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Target: the cheapest routing keeping this share of the strongest "
        "candidate's accuracy (the λ of `modelsat calibrate --targets`).",
    )
    budget: float | None = Field(
        default=None,
        gt=0,
        description="Target: the most accurate routing costing at most this share of the strongest candidate's cost.",
    )
    strong_share: float | None = Field(
        default=None, ge=0, le=1, description="Target, for one strong and one weak model: this share to the strong one."
    )

    @model_validator(mode="after")
    def _one_target(self) -> "Tradeoff":
        targets = [name for name in TARGET_FIELDS if getattr(self, name) is not None]
        if len(targets) > 1:
            raise ValueError(f"give one target of {', '.join(TARGET_FIELDS)}, not {' and '.join(targets)}")
        if targets and "lam" in self.model_fields_set:
            raise ValueError(f"give lambda or the target {targets[0]}, not both (the target sets lambda)")
        return self

    def target(self) -> Target | None:
        """The plain-terms target, if one is set."""
        given = {name: getattr(self, name) for name in TARGET_FIELDS if getattr(self, name) is not None}
        return Target(**given) if given else None


class RequestOptions(Tradeoff):
    """A request's `"modelsat"` field: a trade-off, and/or the routing mode of this request."""

    mode: RoutingMode | None = Field(default=None, description="Routing mode of this request (default: serve's).")


class Cooldown(BaseModel):
    """When a failing backend is taken out of every pick, and how it is let back in (docs/serving.md#cool-downs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failures: int = Field(
        default=3, ge=1, description="Failures (timeout, connection error, 5xx) that start a cool-down."
    )
    window_s: float = Field(default=30.0, gt=0, description="Seconds within which those failures must fall.")
    cooldown_s: float = Field(default=10.0, gt=0, description="Seconds a cooled-down backend is skipped.")
    probe_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds the one probe request after a cool-down may take before it fails."
    )


class BackendConfig(BaseModel):
    """One routed model and the OpenAI-compatible endpoint that serves it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: HttpUrl = Field(description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8101/v1.")
    model: str = Field(min_length=1, description="Model name the backend expects in the request's `model` field.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable holding the backend's API key (never logged or returned)."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Seconds before a backend call counts as failed.")
    price: Price | None = Field(
        default=None, description="Price, reported by /v1/models and /v1/route; needed for cost trade-offs."
    )


class ServeConfig(BaseModel):
    """The whole `serve.yaml`; relative paths are resolved against the file's folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    router: Path = Field(description="Trained router directory (`modelsat train -o DIR`).")
    cards: Path = Field(description="Capability cards file (`modelsat profile -o cards.json`).")
    backends: dict[str, BackendConfig] = Field(description="Routed model name (as in the cards) -> its backend.")
    profiles: dict[str, list[str]] = Field(
        default_factory=dict, description="Named candidate subsets, requested as model `modelsat/<profile>`."
    )
    tradeoffs: dict[str, Tradeoff] = Field(
        default_factory=dict, description="Named cost trade-offs, requested as model `modelsat/<name>`."
    )
    strongest: str | None = Field(
        default=None,
        description="The model every answer's cost is compared with (metrics, /dashboard); unset: the dearest priced "
        "backend (input + output price), what a team without a router would send everything to.",
    )
    expected_output_tokens: int = Field(
        default=256, gt=0, description="Completion tokens assumed in cost estimates when a request sets no max_tokens."
    )
    fallbacks: int = Field(
        default=1, ge=0, description="How many next-ranked models to try after a backend timeout or 5xx."
    )
    stream_idle_s: float = Field(
        default=30.0, gt=0, description="Seconds a stream may go without an event before it ends with an error event."
    )
    cooldown: Cooldown = Field(default_factory=Cooldown, description="Cool-downs of failing backends.")
    keys: Path | None = Field(
        default=None, description="Named API keys with per-key limits (`keys.yaml`); replaces MODELSAT_API_KEYS."
    )
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="Largest accepted request body (413 above).")
    batch_wait_ms: float = Field(
        default=3.0, ge=0, description="How long routing collects concurrent requests into one scoring batch."
    )
    max_batch: int = Field(
        default=32,
        gt=0,
        description="Most instructions scored in one batch; the default is the scorers' own forward batch (a larger "
        "batch is two forward passes, and its first half waits for the second).",
    )
    routing_threads: int | None = Field(
        default=None,
        gt=0,
        description="CPU threads of the router's forward passes; unset: every core but one in fast mode (the event "
        "loop's HTTP work is as large as routing there and needs a core of its own), every core in full mode.",
    )
    state: str = Field(
        default="memory",
        description="Where limits, budgets, usage, cool-downs and reloads live: `memory` (this process) or "
        "`redis://HOST:PORT/DB`, shared by every replica that names the same Redis (docs/serving.md#running-several-"
        "replicas).",
    )
    mode: RoutingMode | None = Field(
        default=None,
        description="Routing mode: fast (the request's encoder embedding and the router's accuracy readout; the "
        "capability LLM is not loaded) or full (the capability LLM reads every card too, loaded at start-up); unset: "
        "fast for a router with an accuracy readout, else full. A "
        'request may ask for the other with `"modelsat": {"mode": ...}`; it is then loaded on first use.',
    )

    @field_validator("backends")
    @classmethod
    def _some_backends(cls, value: dict[str, BackendConfig]) -> dict[str, BackendConfig]:
        if not value:
            raise ValueError("at least one backend is required")
        if ROUTED_MODEL in value or any(name.startswith(ROUTED_MODEL + "/") for name in value):
            raise ValueError(f"backend names must not start with {ROUTED_MODEL!r} (that name routes)")
        return value

    @field_validator("state")
    @classmethod
    def _state_url(cls, value: str) -> str:
        from modelsat.serve.state.url import check_state_url  # no redis client imported for `state: memory`

        return check_state_url(value)

    @model_validator(mode="after")
    def _names_are_consistent(self) -> "ServeConfig":
        for name, members in self.profiles.items():
            if name in ZOOS:
                raise ValueError(f"profile {name!r} shadows the named zoo of the same name")
            if not members:
                raise ValueError(f"profile {name!r} lists no models")
            try:
                check_models(members, self.backends)
            except ConfigError as exc:
                raise ValueError(f"profile {name!r}: {exc}") from None
        for name in self.tradeoffs:
            if name in ZOOS or name in self.profiles:
                raise ValueError(f"trade-off {name!r} shadows the zoo or profile of the same name")
        unpriced = [name for name, backend in self.backends.items() if backend.price is None]
        if self.strongest is not None and (self.strongest not in self.backends or self.strongest in unpriced):
            raise ValueError(f"strongest {self.strongest!r} must name a backend with a price")
        if self.tradeoffs and unpriced:
            raise ValueError(f"trade-offs need a price for every backend; none for {', '.join(unpriced)}")
        return self

    def strongest_model(self) -> str | None:
        """`strongest`, else the dearest priced backend; None when no backend has a price."""
        if self.strongest is not None:
            return self.strongest
        priced = {name: b.price for name, b in self.backends.items() if b.price is not None}
        return max(priced, key=lambda name: priced[name].input + priced[name].output, default=None)


def load_serve_config(path: str | Path) -> ServeConfig:
    """Read and validate a serve config; paths inside it become relative to its folder.

    Raises:
        ConfigError: unreadable file, invalid YAML, or invalid values (each problem named by its field).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read serve config ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with router, cards and backends")
    try:
        cfg = ServeConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    base = path.parent
    paths = {"router": base / cfg.router, "cards": base / cfg.cards}
    return cfg.model_copy(update=paths | ({"keys": base / cfg.keys} if cfg.keys is not None else {}))


def check_against_models(cfg: ServeConfig, card_models: Iterable[str]) -> None:
    """Fail unless every backend has a capability card (the router can only score carded models).

    Raises:
        ConfigError: naming each backend without a card and the models that have one.
    """
    have = set(card_models)
    missing = [name for name in cfg.backends if name not in have]
    if missing:
        raise ConfigError(
            f"{cfg.cards}: no capability card for backend(s) {', '.join(missing)}; "
            f"cards exist for: {', '.join(sorted(have))} (profile the model with `modelsat profile`)"
        )


def api_key(backend: BackendConfig, environ: Mapping[str, str]) -> str | None:
    """The backend's API key from its environment variable.

    Raises:
        ConfigError: when `api_key_env` is set but the variable is missing or empty (its value is never shown).
    """
    if backend.api_key_env is None:
        return None
    value = environ.get(backend.api_key_env, "")
    if not value:
        raise ConfigError(f"environment variable {backend.api_key_env} (api_key_env of a backend) is not set")
    return value
