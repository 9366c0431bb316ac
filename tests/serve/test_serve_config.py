"""serve.yaml validation: the shipped example loads, and each mistake gives one clear ConfigError."""

from pathlib import Path

import pytest
import yaml

from modelsat.errors import ConfigError
from modelsat.serve.backends import build_backends
from modelsat.serve.config import api_key, load_serve_config

EXAMPLE = Path(__file__).parents[2] / "configs" / "serve.example.yaml"
GOOD_BACKEND = {"base_url": "http://127.0.0.1:8101/v1", "model": "smollm2"}


def write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(raw) if not isinstance(raw, str) else raw)
    return path


def base(**changes: object) -> dict:
    return {"router": "r", "cards": "c.json", "backends": {"mathstral-7B": dict(GOOD_BACKEND)}, **changes}


def test_example_config_loads_with_paths_relative_to_it() -> None:
    cfg = load_serve_config(EXAMPLE)
    assert list(cfg.backends)[:2] == ["gemini-1.5-pro-002", "Qwen1.5-7B-Chat"] and len(cfg.backends) == 7
    assert cfg.router.resolve() == (EXAMPLE.parents[1] / "routers" / "default").resolve()
    assert cfg.cards.resolve() == (EXAMPLE.parents[1] / "routers" / "default" / "cards.json").resolve()
    assert str(cfg.backends["gemini-1.5-pro-002"].base_url) == "http://127.0.0.1:8101/v1"
    assert all(backend.price is not None for backend in cfg.backends.values())
    assert cfg.profiles == {"chat-only": ["gpt4_1106_preview", "vicuna-7b"]}
    assert cfg.fallbacks == 1
    assert cfg.stream_idle_s == 30 and cfg.cooldown.failures == 3 and cfg.cooldown.cooldown_s == 10
    assert cfg.keys is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (base(backend={}), r"serve\.yaml: backend: Extra inputs are not permitted"),
        (base(backends={"m": {**GOOD_BACKEND, "timeout": 3}}), r"backends\.m\.timeout: Extra inputs are not permitted"),
        (base(backends={"m": {**GOOD_BACKEND, "base_url": "ftp://h/v1"}}), "base_url: URL scheme should be 'http'"),
        (base(backends={"m": {**GOOD_BACKEND, "base_url": "not a url"}}), "base_url: Input should be a valid URL"),
        (base(backends={"m": {**GOOD_BACKEND, "timeout_s": 0}}), r"backends\.m\.timeout_s: Input should be greater"),
        (base(backends={}), "backends: Value error, at least one backend is required"),
        (base(backends={"modelsat": GOOD_BACKEND}), "must not start with 'modelsat'"),
        (base(profiles={"fast": ["gpt-4o"]}), r"profile 'fast': unknown model\(s\) 'gpt-4o'; available: mathstral-7B"),
        (base(profiles={"small-5": ["mathstral-7B"]}), "shadows the named zoo"),
        (base(fallbacks=-1), "fallbacks: Input should be greater than or equal to 0"),
        (base(cooldown={"failures": 0}), r"cooldown\.failures: Input should be greater than or equal to 1"),
        (base(cooldown={"cooldown": 5}), r"cooldown\.cooldown: Extra inputs are not permitted"),
        (base(stream_idle_s=0), "stream_idle_s: Input should be greater than 0"),
        ({"router": "r"}, "cards: Field required; .*backends: Field required"),
        ("- a\n- b\n", "expected a mapping with router, cards and backends"),
        ("router: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_configs_are_config_errors(tmp_path: Path, raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_serve_config(write(tmp_path, raw))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"serve.yaml: cannot read serve config \(No such file or directory\)"):
        load_serve_config(tmp_path / "serve.yaml")


def test_api_key_comes_from_the_named_variable(tmp_path: Path) -> None:
    cfg = load_serve_config(write(tmp_path, base(backends={"m": {**GOOD_BACKEND, "api_key_env": "M_KEY"}})))
    assert api_key(cfg.backends["m"], {"M_KEY": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match="environment variable M_KEY .* is not set") as caught:
        build_backends(cfg, {})
    assert "s3cret" not in str(caught.value)
