"""The Observable value object: CIDR flag, STIX type and the Types column."""

from __future__ import annotations

import pytest

from indicia.observables import HASH_KINDS, Kind, Observable, normalize

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize(
    ("kind", "raw", "is_cidr", "stix_type", "display_type"),
    [
        ("ipv4-addr", "192.0.2.1", False, "ipv4-addr", "ipv4-addr"),
        ("ipv4-addr", "192.0.2.0/24", True, "ipv4-addr", "ipv4-addr"),
        ("ipv4-addr", "192.0.2.1/32", False, "ipv4-addr", "ipv4-addr"),
        ("ipv6-addr", "2001:db8::/32", True, "ipv6-addr", "ipv6-addr"),
        ("ipv6-addr", "2001:db8::1/128", False, "ipv6-addr", "ipv6-addr"),
        ("network-traffic", "203.0.113.5:443", False, "network-traffic", "network-traffic"),
        ("domain", "c2.example.net", False, "domain-name", "domain-name"),
        ("url", "http://example.com/a/b", False, "url", "url"),
        ("email", "ops@example.com", False, "email-addr", "email-addr"),
        ("md5", MD5, False, "file", "file:md5"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", False, "file", "file:sha1"),
    ],
)
def test_types_follow_the_kind_and_port(
    kind: str, raw: str, is_cidr: bool, stix_type: str, display_type: str
) -> None:
    observable = normalize(kind, raw)

    assert observable.is_cidr is is_cidr
    assert observable.stix_type == stix_type
    assert observable.display_type == display_type


def test_warnings_do_not_take_part_in_equality() -> None:
    with_warning = normalize("ipv4-addr", "10.0.0.1/8")
    without = normalize("ipv4-addr", "10.0.0.0/8")

    assert with_warning.warnings and not without.warnings
    assert with_warning == without
    assert hash(with_warning) == hash(without)


def test_port_takes_part_in_equality() -> None:
    assert Observable(Kind.IPV4, "192.0.2.1", 80) != Observable(Kind.IPV4, "192.0.2.1", 443)


def test_hash_kinds_are_the_four_algorithms() -> None:
    assert {Kind.MD5, Kind.SHA1, Kind.SHA256, Kind.SHA512} == HASH_KINDS
    assert Kind.NETWORK_TRAFFIC not in HASH_KINDS


def test_a_path_in_a_url_is_not_a_cidr() -> None:
    assert not Observable(Kind.URL, "http://example.com/a/24").is_cidr
