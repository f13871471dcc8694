"""normalize(kind, raw) over the manifest of accepted and rejected values, per kind."""

from __future__ import annotations

from typing import Any

import pytest

from indicia.errors import ObservableError
from indicia.observables import Kind, normalize

from .conftest import load_json

CASES: list[dict[str, Any]] = load_json("normalize.json")["cases"]
ACCEPTED = [case for case in CASES if "value" in case]
REJECTED = [case for case in CASES if "error" in case]


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}:{case['raw']!r}"


@pytest.mark.parametrize("case", ACCEPTED, ids=_case_id)
def test_accepted_value_is_canonical(case: dict[str, Any]) -> None:
    observable = normalize(case["kind"], case["raw"])

    expected_kind = case.get("kind_out", case["kind"])
    assert observable.value == case["value"]
    assert observable.kind == Kind(_canonical_kind_name(expected_kind))
    assert observable.port == case.get("port")
    assert list(observable.warnings) == case.get("warnings", [])


@pytest.mark.parametrize("case", REJECTED, ids=_case_id)
def test_rejected_value_names_the_rule(case: dict[str, Any]) -> None:
    with pytest.raises(ObservableError, match=case["error"]) as caught:
        normalize(case["kind"], case["raw"])

    assert caught.value.rule
    assert caught.value.value in (case["raw"], case["kind"])


def test_normalize_rejects_a_value_that_is_not_text() -> None:
    with pytest.raises(ObservableError, match="must be text"):
        normalize(Kind.IPV4, 3232235777)  # type: ignore[arg-type]


def test_kind_enum_and_its_value_string_normalise_alike() -> None:
    by_enum = normalize(Kind.DOMAIN, "Example.ORG")
    by_text = normalize("domain-name", "Example.ORG")

    assert by_enum == by_text
    assert by_enum.value == "example.org"


_ALIAS_KINDS = {
    "ipv4": "ipv4-addr",
    "ipv6": "ipv6-addr",
    "domain": "domain-name",
    "fqdn": "domain-name",
    "hostname": "domain-name",
    "email": "email-addr",
    "e-mail": "email-addr",
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-512": "sha512",
}


def _canonical_kind_name(name: str) -> str:
    return _ALIAS_KINDS.get(name.lower(), name.lower())
