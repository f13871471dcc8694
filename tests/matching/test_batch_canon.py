"""The batch engine's SQL fast paths agree with indicia.observables on every value they take.

SQL canonicalises values already in a common shape and leaves the rest to the observables
package; whichever path a value takes, its match must carry the observables' canonical form,
and a value the observables reject must never match.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicia.errors import ObservableError
from indicia.logs.base import Event
from indicia.matching.batch import BatchEngine
from indicia.matching.fields import is_placeholder
from indicia.matching.types import IndicatorEntry, Match
from indicia.observables import (
    normalize_domain,
    normalize_email,
    normalize_ipv4,
    normalize_ipv6,
    normalize_url,
)

START = datetime(2024, 1, 1, tzinfo=UTC)

_LABELS = st.sampled_from(
    ["evil", "EXAMPLE", "xn--bcher-kva", "a_b", "-bad", "bad-", "1", "123", "Bücher", "ex%41", ""]
)
_TLDS = st.sampled_from(["com", "NET", "org.", "123", "xn--p1ai", "c_m", "example"])
_SPACE = st.sampled_from(["", " ", "\t", "\u00a0", "\n"])
DOMAINS = st.builds(
    lambda s1, labels, tld, s2: s1 + ".".join([*labels, tld]) + s2,
    _SPACE,
    st.lists(_LABELS, min_size=0, max_size=3),
    _TLDS,
    _SPACE,
)
_OCTETS = st.sampled_from(["0", "1", "10", "010", "192", "255", "256", "00"])
IPS = st.one_of(
    st.builds(lambda *o: ".".join(o), _OCTETS, _OCTETS, _OCTETS, _OCTETS),
    st.sampled_from(
        [
            "2001:DB8::1",
            "2001:db8:0:0::1",
            "::ffff:192.0.2.1",
            "fe80::1%eth0",
            "::",
            "1::/64",
            "192.0.2.1/32",
            " 192.0.2.1",
            "192.0.2.1\t",
            "0.0.0.0",
            "::1",
        ]
    ),
)
_HOSTS = st.one_of(DOMAINS.map(str.strip), IPS.map(str.strip), st.just("[2001:DB8::7]"))
_PATHS = st.sampled_from(
    [
        "",
        "/",
        "/a/b",
        "/a/./b/../c",
        "/%7euser",
        "/%7E%41",
        "/x y",
        "/ü",
        "?q=1",
        "/p?q=a%2fb",
        "/a#frag",
        "/.",
        "/..",
        "/a/.b",
        "/it's",
        "/[x]",
    ]
)
URLS = st.builds(
    lambda s, host, port, path: f"{s}://{host}{port}{path}",
    st.sampled_from(["http", "HTTP", "https", "ftp", "hxxp"]),
    _HOSTS,
    st.sampled_from(["", ":80", ":443", ":8080", ":", ":99999"]),
    _PATHS,
)
EMAILS = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.sampled_from(["alice", "Alice.Roe", "a+b", "a..b", ".a", "ü", "a b"]),
    DOMAINS.map(str.strip),
)


def _ip(raw: str) -> tuple[str, str]:
    if "/" in raw:
        raise ObservableError(raw, "a network is not an event address")
    value = normalize_ipv6(raw) if ":" in raw else normalize_ipv4(raw)
    return ("ipv6-addr" if ":" in value else "ipv4-addr"), value


def _email(raw: str) -> tuple[str, str]:
    return "email-addr", normalize_email(raw)


FAMILIES: dict[str, tuple[str, st.SearchStrategy[str], Callable[[str], tuple[str, str]]]] = {
    "ip": ("source.ip", IPS, _ip),
    "domain": ("dns.question.name", DOMAINS, lambda raw: ("domain-name", normalize_domain(raw))),
    "url": ("url.full", URLS, lambda raw: ("url", normalize_url(raw))),
    "email": ("email.from.address", EMAILS, _email),
}


def _canonical(raw: str, normalise: Callable[[str], tuple[str, str]]) -> tuple[str, str] | None:
    if is_placeholder(raw):
        return None
    try:
        return normalise(raw)
    except ObservableError:
        return None


@pytest.fixture(scope="module")
def engine() -> BatchEngine:
    return BatchEngine()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_fast_paths_agree_with_observables(engine: BatchEngine, family: str) -> None:
    field, values, normalise = FAMILIES[family]

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(values, min_size=1, max_size=60))
    def check(raws: list[str]) -> None:
        expected = [_canonical(raw, normalise) for raw in raws]
        entries = [
            IndicatorEntry(f"indicator--{n}", kind, value, START)
            for n, (kind, value) in enumerate({c for c in expected if c is not None})
        ]
        engine.load(entries)
        events = [Event(None, "t", {field: raw}) for raw in raws]

        matches = [m for m in engine.match(events) if isinstance(m, Match)]

        exact = {
            (m.event.fields[field], m.matched_value)
            for m in matches
            if m.kind != "domain-name" or family == "domain"
        }
        # A value the observables reject is counted as invalid, never matched.
        rejected = sum(
            1 for r, c in zip(raws, expected, strict=True) if c is None and not is_placeholder(r)
        )
        assert engine.last_result is not None
        assert engine.last_result.invalid_values == rejected
        for raw, canonical in zip(raws, expected, strict=True):
            found = {value for source, value in exact if source == raw}
            if canonical is None:
                assert found == set(), raw
            else:
                want = canonical[1].lower() if family == "email" else canonical[1]
                assert want in found, raw

    check()
