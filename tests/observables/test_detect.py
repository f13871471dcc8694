"""detect_kind by shape, and parse_observable (refang, detect, normalise)."""

from __future__ import annotations

import pytest

from indicia.errors import ObservableError
from indicia.observables import Kind, detect_kind, parse_observable

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("192.0.2.1", Kind.IPV4),
        ("192.0.2.0/24", Kind.IPV4),
        ("010.1.1.1", Kind.IPV4),
        ("192.0.2.4/", Kind.IPV4),
        ("2001:db8::1", Kind.IPV6),
        ("2001:db8::/32", Kind.IPV6),
        ("::ffff:192.0.2.1", Kind.IPV6),
        ("::ffff:192.0.2.0/120", Kind.IPV6),
        ("203.0.113.5:443", Kind.NETWORK_TRAFFIC),
        ("[2001:db8::1]:443", Kind.NETWORK_TRAFFIC),
        ("example.com", Kind.DOMAIN),
        ("Bücher.example", Kind.DOMAIN),
        ("http://example.com/a", Kind.URL),
        ("HXXPS://example.com/a", Kind.URL),
        ("example.com/a", Kind.URL),
        ("jane@example.org", Kind.EMAIL),
        ("Jane Roe <jane@example.org>", Kind.EMAIL),
        (MD5, Kind.MD5),
        (MD5.upper(), Kind.MD5),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Kind.SHA1),
        (SHA256, Kind.SHA256),
        ("a" * 128, Kind.SHA512),
    ],
)
def test_detect_kind_by_shape(raw: str, kind: Kind) -> None:
    assert detect_kind(raw) is kind


@pytest.mark.parametrize("raw", ["", "   ", "foo", "two words", "a" * 61, "#", "C:\\Temp\\x.exe"])
def test_detect_kind_names_a_value_that_fits_nothing(raw: str) -> None:
    with pytest.raises(
        ObservableError, match="not an IP address, domain, URL, e-mail address or hash"
    ):
        detect_kind(raw)


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("hxxps[:]//cdn[.]example[.]com/x", Kind.URL, "https://cdn.example.com/x"),
        ("HXXPS://mirror.example.net/s2", Kind.URL, "https://mirror.example.net/s2"),
        ("avsvmcloud[.]com", Kind.DOMAIN, "avsvmcloud.com"),
        ("jane[.]doe[@]mail[.]example[.]org", Kind.EMAIL, "jane.doe@mail.example.org"),
        ("192[.]0[.]2[.]1", Kind.IPV4, "192.0.2.1"),
        ("evil dot example dot com", Kind.DOMAIN, "evil.example.com"),
    ],
)
def test_parse_refangs_and_reports_it(raw: str, kind: Kind, value: str) -> None:
    observable = parse_observable(raw)

    assert (observable.kind, observable.value) == (kind, value)
    assert observable.warnings[0] == "refanged"


def test_parse_without_defang_reports_nothing() -> None:
    observable = parse_observable("http://example.com/a")

    assert observable.value == "http://example.com/a"
    assert observable.warnings == ()


def test_parse_keeps_the_normaliser_warnings_after_refanged() -> None:
    observable = parse_observable("10[.]0[.]0[.]1/8")

    assert observable.value == "10.0.0.0/8"
    assert observable.warnings == ("refanged", "host bits set in 10.0.0.1/8; kept 10.0.0.0/8")


def test_parse_without_refang_leaves_marks_to_the_normaliser() -> None:
    with pytest.raises(ObservableError, match="not letters, digits"):
        parse_observable("avsvmcloud[.]com", "domain", refang=False)


def test_parse_with_a_kind_is_strict() -> None:
    with pytest.raises(ObservableError, match="a URL given as an IPv4 address"):
        parse_observable("192.0.2.1", Kind.URL)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("010.1.1.1", "leading zero is ambiguous"),
        ("192.0.2.4/", "needs a prefix length after the slash"),
        ("Jane Roe <jane@example.org>", "must not include a display name"),
        ("example.com/path", "needs a scheme and a host"),
        ("2001:db8::1::2", "not an IPv6 address"),
    ],
)
def test_parse_detects_then_names_the_broken_rule(raw: str, rule: str) -> None:
    with pytest.raises(ObservableError, match=rule):
        parse_observable(raw)


def test_parse_network_traffic_by_detection() -> None:
    observable = parse_observable("[2001:DB8::1]:8443")

    assert (observable.kind, observable.value, observable.port) == (Kind.IPV6, "2001:db8::1", 8443)
