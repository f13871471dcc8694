"""The Python pass of the batch plan: canonical forms for the few values the fast checks leave.

Vectorised checks accept values already in a common canonical shape; the rest (IPv6,
internationalised names, URLs with ports or escapes, odd spellings) come here once per distinct
value and are
canonicalised by :mod:`indicia.observables`, the one place that decides canonical forms.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

import pyarrow as pa

from indicia.errors import ObservableError
from indicia.matching.batch_index import IPV6_BUCKET_BITS
from indicia.matching.fields import is_placeholder
from indicia.observables import (
    normalize_domain,
    normalize_email,
    normalize_ipv4,
    normalize_ipv6,
    normalize_url,
)

logger = logging.getLogger(__name__)

# (canonical value, URL host, IPv6 address as 16 bytes) of one raw value.
Canonical = tuple[str, str | None, bytes | None]

FIX_SCHEMA = pa.schema(
    [
        ("raw", pa.string()),
        ("canon", pa.string()),
        ("host", pa.string()),
        ("ip6", pa.binary()),
        ("ip6b", pa.uint32()),
        ("placeholder", pa.bool_()),
    ]
)


def canonicalize_values(fam: str, raws: pa.Array) -> pa.Table:
    """Canonicalise distinct raw values of one family into rows of FIX_SCHEMA.

    A value no normaliser accepts gets a null canon and so stays unmatched (and counted); a
    placeholder once stripped (" - ") is flagged, as it is no value at all.
    """
    texts = raws.to_pylist()
    results = [None if is_placeholder(raw) else canonical_value(fam, raw) for raw in texts]
    found = [r or (None, None, None) for r in results]
    return pa.table(
        {
            "raw": pa.array(texts, pa.string()),
            "canon": pa.array([value for value, _, _ in found], pa.string()),
            "host": pa.array([host for _, host, _ in found], pa.string()),
            "ip6": pa.array([ip6 for _, _, ip6 in found], pa.binary()),
            "ip6b": pa.array([_bucket(ip6) for _, _, ip6 in found], pa.uint32()),
            "placeholder": pa.array([is_placeholder(raw) for raw in texts], pa.bool_()),
        },
        schema=FIX_SCHEMA,
    )


def canonical_value(fam: str, raw: str) -> Canonical | None:
    """The canonical form of one event value of a family, or None when it is not valid."""
    handler = _HANDLERS.get(fam)
    if handler is None:
        return None
    try:
        return handler(raw)
    except ObservableError as exc:
        logger.debug("event value skipped: %s", exc)
        return None


def _ip(raw: str) -> Canonical:
    # An event field holds one address; a network there is not an address (checked first).
    if "/" in raw:
        raise ObservableError(raw, "an event address field holds an address, not a network")
    if ":" not in raw:
        return normalize_ipv4(raw), None, None
    value = normalize_ipv6(raw)
    return value, None, _packed(value)


def _domain(raw: str) -> Canonical:
    return normalize_domain(raw), None, None


def _email(raw: str) -> Canonical:
    # E-mail addresses match case-insensitively (DESIGN.md, "Matching"), so compare lower case.
    return normalize_email(raw).lower(), None, None


def _url(raw: str) -> Canonical:
    # The host row carries the host; an IPv6 host in brackets is matched as an address.
    value = normalize_url(raw)
    host = url_host(value)
    if host.startswith("["):
        address = host[1:-1]
        return value, address, _packed(address)
    return value, host, None


def url_host(url: str) -> str:
    """The host of a canonical URL (RFC 3986 3.2.2), brackets kept for IPv6."""
    authority = url.split("://", 1)[1]
    for mark in "/?":
        authority = authority.split(mark, 1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


def _packed(address: str) -> bytes | None:
    if ":" not in address:
        return None
    return ipaddress.IPv6Address(address).packed


def _bucket(packed: bytes | None) -> int | None:
    if packed is None:
        return None
    return int.from_bytes(packed[: IPV6_BUCKET_BITS // 8], "big")


_HANDLERS: dict[str, Callable[[str], Canonical]] = {
    "ip": _ip,
    "domain": _domain,
    "url": _url,
    "email": _email,
}
