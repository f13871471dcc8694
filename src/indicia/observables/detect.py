"""Decide what a raw value is, and turn it into its canonical :class:`Observable`.

``detect_kind`` looks at the shape only; ``normalize`` then checks every rule of the kind, so
a value that looks like an IPv4 address but has a leading zero is detected as IPv4 and then
rejected with the rule it breaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from indicia.errors import ObservableError
from indicia.observables.hashes import HASH_LENGTHS, normalize_hash, normalize_hash_of_kind
from indicia.observables.kinds import Kind, Observable, resolve_kind_name
from indicia.observables.names import is_canonical_domain, normalize_domain, normalize_email
from indicia.observables.net import (
    IPV4_RE,
    looks_like_ipv4,
    normalize_ip_observable,
    normalize_ipv4_observable,
    normalize_ipv6_observable,
    normalize_network_traffic,
)
from indicia.observables.refang import may_be_defanged
from indicia.observables.refang import refang as refang_text
from indicia.observables.urls import normalize_url

_HEX_RE = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_IPV6_SHAPE_RE = re.compile(r"[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(?:/[0-9]*)?", re.ASCII)
_IPV4_PORT_RE = re.compile(r"[0-9]+(?:\.[0-9]+){3}:[0-9]+", re.ASCII)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


_SPACE_RE = re.compile(r"\s")
_LOWER_HEX_RE = re.compile(r"[0-9a-f]+", re.ASCII)
_IPV4, _DOMAIN, _URL, _EMAIL = Kind.IPV4, Kind.DOMAIN, Kind.URL, Kind.EMAIL


def _domain(raw: str) -> Observable:
    return Observable(_DOMAIN, normalize_domain(raw))


def _url(raw: str) -> Observable:
    return Observable(_URL, normalize_url(raw))


def _email(raw: str) -> Observable:
    return Observable(_EMAIL, normalize_email(raw))


def _any_hash(raw: str) -> Observable:
    kind, value = normalize_hash(raw)
    return Observable(kind, value)


def _hash_normalizer(kind: Kind) -> Callable[[str], Observable]:
    def normalize_one(raw: str) -> Observable:
        return Observable(kind, normalize_hash_of_kind(raw, kind))

    return normalize_one


_NORMALIZERS: dict[str, Callable[[str], Observable]] = {
    Kind.IPV4: normalize_ipv4_observable,
    Kind.IPV6: normalize_ipv6_observable,
    "ip": normalize_ip_observable,
    Kind.DOMAIN: _domain,
    Kind.URL: _url,
    Kind.EMAIL: _email,
    Kind.NETWORK_TRAFFIC: normalize_network_traffic,
    "hash": _any_hash,
}
_NORMALIZERS.update({kind: _hash_normalizer(kind) for kind in HASH_LENGTHS.values()})


def normalize(kind: Kind | str, raw: str) -> Observable:
    """Return the canonical observable; ``raw`` must be of that kind (whitespace aside)."""
    normalizer = _NORMALIZERS.get(kind) or _NORMALIZERS[resolve_kind_name(kind)]
    try:
        return normalizer(raw)
    except (AttributeError, TypeError):
        # Only a non-text value gets here; checking up front would slow every call.
        if isinstance(raw, str):
            raise
        raise ObservableError(repr(raw), "an observable value must be text") from None
    except ObservableError:
        if not raw or raw.isspace():
            raise ObservableError(raw, "an observable value cannot be empty") from None
        raise


def detect_kind(raw: str) -> Kind:
    """Say which kind a raw value has the shape of; raise when it looks like none."""
    value = raw.strip()
    if "<" in value and "@" in value:
        # "Jane Roe <jane@example.org>": an address with a display name; normalize rejects it.
        return Kind.EMAIL
    if not value or _SPACE_RE.search(value):
        _fits_nothing(raw)

    if value[0].isdigit() and looks_like_ipv4(value):
        return Kind.IPV4
    hash_kind = HASH_LENGTHS.get(len(value))
    if hash_kind is not None and _HEX_RE.fullmatch(value):
        return hash_kind
    return _detect_structured(raw, value)


def parse_observable(
    raw: str, kind: Kind | str | None = None, *, refang: bool = True
) -> Observable:
    """Refang (reporting it), detect the kind unless given, and normalise."""
    if kind is None and not (refang and may_be_defanged(raw)):
        fast = _canonical_as_given(raw)
        if fast is not None:
            return fast

    text, changed = refang_text(raw) if refang else (raw, False)
    observable = normalize(detect_kind(text) if kind is None else kind, text)
    if not changed:
        return observable
    warnings = ("refanged", *observable.warnings)
    return Observable(observable.kind, observable.value, observable.port, warnings)


def _canonical_as_given(raw: str) -> Observable | None:
    # The common feed values (plain IPv4, lower-case hash or domain) are canonical as given.
    if IPV4_RE.fullmatch(raw):
        return Observable(_IPV4, raw)
    hash_kind = HASH_LENGTHS.get(len(raw))
    if hash_kind is not None and _LOWER_HEX_RE.fullmatch(raw):
        return Observable(hash_kind, raw)
    if is_canonical_domain(raw):
        return Observable(_DOMAIN, raw)
    return None


def _detect_structured(raw: str, value: str) -> Kind:
    if _SCHEME_RE.match(value):
        return Kind.URL
    if value.startswith("[") or _IPV4_PORT_RE.fullmatch(value):
        return Kind.NETWORK_TRAFFIC
    if _IPV6_SHAPE_RE.fullmatch(value):
        return Kind.IPV6
    if "@" in value:
        return Kind.EMAIL
    if "\\" in value:
        return _fits_nothing(raw)
    if "/" in value or ":" in value:
        # A host with a path or port but no scheme: normalize_url says what is missing.
        return Kind.URL
    if "." in value:
        return Kind.DOMAIN
    return _fits_nothing(raw)


def _fits_nothing(raw: str) -> NoReturn:
    raise ObservableError(raw, "not an IP address, domain, URL, e-mail address or hash")
