"""Bearer-token checks."""

import pytest

from modelsat.serve.auth import api_keys_from_env, authorized


def test_keys_from_env() -> None:
    assert api_keys_from_env({"MODELSAT_API_KEYS": " a1, ,b2 ,"}) == ("a1", "b2")
    assert api_keys_from_env({"MODELSAT_API_KEYS": " "}) == ()
    assert api_keys_from_env({}) == ()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer a1", True),
        ("bearer b2", True),
        ("Bearer a1x", False),
        ("Bearer a", False),
        ("Basic a1", False),
        ("Bearer ", False),
        ("a1", False),
        (None, False),
    ],
)
def test_authorized(header: str | None, ok: bool) -> None:
    assert authorized(header, ("a1", "b2")) is ok


def test_no_keys_means_open() -> None:
    assert authorized(None, ()) is True
