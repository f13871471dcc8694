"""IP ranges as integers, the per-kind IP helpers and the STIX hash keys."""

from __future__ import annotations

import ipaddress

import pytest

from indicia.errors import ObservableError
from indicia.observables import (
    Kind,
    hash_kind_for_stix_key,
    ip_range,
    normalize_hash,
    normalize_ipv4,
    normalize_ipv6,
)


@pytest.mark.parametrize(
    "value",
    [
        "192.0.2.1",
        "192.0.2.0/24",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "2001:db8::1",
        "2001:db8::/32",
        "::/0",
    ],
)
def test_ip_range_matches_ipaddress(value: str) -> None:
    network = ipaddress.ip_network(value)

    expected = (network.version, int(network[0]), int(network[-1]))
    assert ip_range(value) == expected


def test_ip_range_of_a_mapped_address_is_the_ipv4_one() -> None:
    assert ip_range("::ffff:192.0.2.1") == ip_range("192.0.2.1")


def test_ip_range_names_a_value_that_is_no_ip() -> None:
    with pytest.raises(ObservableError, match="'example.com': not an IPv4 address"):
        ip_range("example.com")


def test_per_kind_helpers_return_the_canonical_string() -> None:
    assert normalize_ipv4(" 192.0.2.0/24 ") == "192.0.2.0/24"
    assert normalize_ipv6("2001:DB8:0:0:0:0:0:1") == "2001:db8::1"
    assert normalize_ipv6("::ffff:198.51.100.7") == "198.51.100.7"


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("MD5", Kind.MD5),
        ("md5", Kind.MD5),
        ("SHA-1", Kind.SHA1),
        ("SHA1", Kind.SHA1),
        ("sha1", Kind.SHA1),
        ("SHA-256", Kind.SHA256),
        ("sha256", Kind.SHA256),
        ("SHA_256", Kind.SHA256),
        ("SHA-512", Kind.SHA512),
        ("sha512", Kind.SHA512),
    ],
)
def test_stix_hash_keys(key: str, kind: Kind) -> None:
    assert hash_kind_for_stix_key(key) is kind


@pytest.mark.parametrize("key", ["SSDEEP", "SHA3-256", "TLSH", ""])
def test_unsupported_hash_keys(key: str) -> None:
    with pytest.raises(ObservableError, match="unsupported hash algorithm"):
        hash_kind_for_stix_key(key)


def test_hash_length_must_fit_the_named_algorithm() -> None:
    sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"

    assert normalize_hash(sha1.upper(), "SHA-1") == (Kind.SHA1, sha1)
    with pytest.raises(ObservableError, match="SHA-256 hash has 64 hex digits, this one has 40"):
        normalize_hash(sha1, "SHA-256")


def test_hash_kind_by_length() -> None:
    assert normalize_hash("a" * 128) == (Kind.SHA512, "a" * 128)
    with pytest.raises(ObservableError, match="this one has 33"):
        normalize_hash("a" * 33)
