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


@pytest.fixture(scope="module")
def smollm2_url() -> Iterator[str]:
    """Base URL (…/v1) of the bundled SmolLM2-135M-Instruct served by `modelsat backend` code.

    One torch thread while it runs: token-by-token decoding of a 135M model gains nothing from intra-op
    threads, and on a busy 2-core machine oversubscribed threads made it 10x slower.
    """
    import torch

    from modelsat.serve.backend_server import create_backend_app
    from modelsat.serve.local import TransformersBackend

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with run_http(create_backend_app(TransformersBackend.load("smollm2"), "smollm2")) as url:
            yield url + "/v1"
    finally:
        torch.set_num_threads(threads)
