"""Property tests: normalise is idempotent and raises only ObservableError, for every kind."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains, urls

from indicia.errors import ObservableError
from indicia.observables import (
    Kind,
    Observable,
    extract_iocs,
    ip_range,
    normalize,
    parse_observable,
    refang,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
KIND_NAMES = [kind.value for kind in Kind] + ["ip", "cidr", "hash", "fqdn", "e-mail", "sha-256"]
FAST = settings(max_examples=100, deadline=None)

# Text made of the characters IOCs are built from, so shapes near the rules come up often.
IOC_ALPHABET = st.sampled_from(list("0123456789abcdefABCDEFxX.:/[]()@%-_ ü") + ["hxxp", "[.]"])
IOC_TEXT = st.lists(IOC_ALPHABET, max_size=40).map("".join)


def _renormalize(observable: Observable) -> Observable:
    if observable.port is None:
        return normalize(observable.kind, observable.value)
    address = observable.value
    address = f"[{address}]" if observable.kind is Kind.IPV6 else address
    return normalize(Kind.NETWORK_TRAFFIC, f"{address}:{observable.port}")


def _check_idempotent(kind: str, raw: str) -> None:
    try:
        observable = normalize(kind, raw)
    except ObservableError:
        return
    again = _renormalize(observable)
    assert again == observable
    assert again.warnings == ()


@FAST
@given(kind=st.sampled_from(KIND_NAMES), raw=st.text(max_size=60))
def test_arbitrary_text_is_idempotent_or_observable_error(kind: str, raw: str) -> None:
    _check_idempotent(kind, raw)


@FAST
@given(kind=st.sampled_from(KIND_NAMES), raw=IOC_TEXT)
def test_ioc_like_text_is_idempotent_or_observable_error(kind: str, raw: str) -> None:
    _check_idempotent(kind, raw)


@FAST
@given(address=st.ip_addresses())
def test_generated_addresses_match_ipaddress(address: IPAddress) -> None:
    expected = address.ipv4_mapped if address.version == 6 else None
    canonical = str(expected or ipaddress.ip_address(address).compressed)

    assert normalize("ip", str(address)).value == canonical
    assert normalize("ip", address.exploded.upper()).value == canonical
    _check_idempotent("ip", address.exploded)


@FAST
@given(address=st.ip_addresses(), data=st.data())
def test_generated_networks_match_ipaddress(address: IPAddress, data: st.DataObject) -> None:
    bits = 32 if address.version == 4 else 128
    prefix = data.draw(st.integers(0, bits))
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)

    observable = normalize("cidr", f"{address}/{prefix}")
    version, first, last = ip_range(observable.value)
    if observable.kind is Kind.IPV4 and network.version == 6:
        network = ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{prefix - 96}")
    assert (version, first, last) == (network.version, int(network[0]), int(network[-1]))
    assert observable.is_cidr is (network.prefixlen != network.max_prefixlen)
    _check_idempotent("cidr", f"{address}/{prefix}")


@FAST
@given(name=domains())
def test_generated_domains_are_accepted_and_idempotent(name: str) -> None:
    observable = normalize(Kind.DOMAIN, name)

    assert observable.value == name.lower()
    _check_idempotent(Kind.DOMAIN, name)


@FAST
@given(url=urls())
def test_generated_urls_are_accepted_and_idempotent(url: str) -> None:
    observable = normalize(Kind.URL, url)

    assert observable.value.startswith(url.split(":", 1)[0].lower() + "://")
    _check_idempotent(Kind.URL, url)


@FAST
@given(local=st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}", fullmatch=True), name=domains())
def test_generated_emails_are_accepted_and_idempotent(local: str, name: str) -> None:
    observable = normalize(Kind.EMAIL, f"{local}@{name}")

    assert observable.value == f"{local}@{name.lower()}"
    _check_idempotent(Kind.EMAIL, f"{local}@{name}")


@FAST
@given(
    digest=st.sampled_from([16, 20, 32, 64]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
)
def test_generated_hashes_are_told_apart_by_length(digest: bytes) -> None:
    kinds = {16: Kind.MD5, 20: Kind.SHA1, 32: Kind.SHA256, 64: Kind.SHA512}
    observable = normalize("hash", digest.hex().upper())

    assert (observable.kind, observable.value) == (kinds[len(digest)], digest.hex())
    _check_idempotent(kinds[len(digest)], digest.hex())


@FAST
@given(text=st.text(max_size=200) | IOC_TEXT)
def test_extract_and_refang_never_fail_and_positions_hold(text: str) -> None:
    refanged, changed = refang(text)
    assert changed is (refanged != text)

    for item in extract_iocs(text):
        assert text[item.start : item.end] == item.raw
        assert parse_observable(item.raw, item.kind).value == item.value
