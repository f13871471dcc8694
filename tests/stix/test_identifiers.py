"""STIX identifiers (2.9): the split check agrees with the specification's regular expression."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicia.errors import StixError
from indicia.stix import properties as p

_TYPES = st.text(alphabet="az09-Z\n_", max_size=12)
_SEPARATORS = st.sampled_from(["--", "-", "", "---"])


def _by_regex(value: str) -> str | None:
    match = p.IDENTIFIER.fullmatch(value)
    return match.group(1) if match else None


def _by_check(value: str, check: p.Check) -> str | None:
    try:
        return str(check(value, "id", None))
    except StixError:
        return None


@settings(max_examples=400, deadline=None)
@given(
    kind=_TYPES,
    separator=_SEPARATORS,
    raw=st.uuids(),
    upper=st.booleans(),
    at=st.integers(0, 35),
    char=st.sampled_from("-0aAgG8\n é"),
)
def test_identifier_checks_agree_with_the_regex(
    kind: str, separator: str, raw: uuid.UUID, upper: bool, at: int, char: str
) -> None:
    text = str(raw).upper() if upper else str(raw)
    mutated = text[:at] + char + text[at + 1 :]
    for value in (kind + separator + text, kind + "--" + mutated, f"indicator--{mutated}x"):
        expected = _by_regex(value)
        assert _by_check(value, p.identifier_type) == expected
        assert _by_check(value, p.unique_identifier_type) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f", "indicator"),
        ("x-custom--type--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f", "x-custom--type"),
        ("abc--3C9F1E2D-7A6B-4C5D-BE9F-0A1B2C3D4E5F", "abc"),
    ],
)
def test_identifier_type_returns_the_type(value: str, kind: str) -> None:
    assert p.identifier_type(value, "id", None) == kind
    assert p.identifier_type(value, "id", None) == kind  # a second time, remembered


@pytest.mark.parametrize(
    "value",
    [
        "indicator--3c9f1e2d-7a6b-6c5d-8e9f-0a1b2c3d4e5f",  # version 6
        "indicator--3c9f1e2d-7a6b-4c5d-7e9f-0a1b2c3d4e5f",  # not the RFC 4122 variant
        "indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f\n",
        "Indicator--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
        "--3c9f1e2d-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
        42,
    ],
)
def test_identifier_type_rejects(value: object) -> None:
    with pytest.raises(StixError, match=r"is not a STIX identifier \(<type>--<RFC 4122 UUID>"):
        p.unique_identifier_type(value, "id", "indicator--x")
