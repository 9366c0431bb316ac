"""Serve fixtures: a fake router, and echo / SmolLM2 backends served over real HTTP for the session."""

from collections.abc import Iterator

import pytest
from serve_doubles import KeywordScorer, run_http


@pytest.fixture
def scorer() -> KeywordScorer:
    """A fresh keyword scorer."""
    return KeywordScorer()


@pytest.fixture(scope="session")
def echo_url() -> Iterator[str]:
    """Base URL (…/v1) of an echo backend served over real HTTP for the whole session."""
    from modelsat.serve.backend_server import create_backend_app
    from modelsat.serve.backends import EchoBackend

    with run_http(create_backend_app(EchoBackend(), "echo")) as url:
        yield url + "/v1"


@pytest.fixture(scope="session")
def smollm2_url() -> Iterator[str]:
    """Base URL (…/v1) of the bundled SmolLM2-135M-Instruct served by `modelsat backend` code."""
    from modelsat.serve.backend_server import create_backend_app
    from modelsat.serve.local import TransformersBackend

    with run_http(create_backend_app(TransformersBackend.load("smollm2"), "smollm2")) as url:
        yield url + "/v1"
