"""The Python pass of the batch plan: canonical forms for the few values SQL leaves open.

SQL canonicalises values already in a common canonical shape; the rest (IPv6, internationalised
names, URLs with ports or escapes, odd spellings) come here once per distinct value and are
canonicalised by :mod:`indicia.observables`, the one place that decides canonical forms.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable

import pyarrow as pa

from indicia.errors import ObservableError
from indicia.matching.batch_index import IPV6_BUCKET_BITS
from indicia.matching.batch_plan import FAM, FAMILIES
from indicia.observables import (
    normalize_domain,
    normalize_email,
    normalize_ipv4,
    normalize_ipv6,
    normalize_url,
)

logger = logging.getLogger(__name__)

_IPV4 = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", re.ASCII)

# (canonical value, URL host, IPv6 address as 16 bytes) of one raw value.
Canonical = tuple[str, str | None, bytes | None]

FIX_SCHEMA = pa.schema(
    [
        ("fam", pa.uint8()),
        ("raw", pa.string()),
        ("canon", pa.string()),
        ("ip4", pa.uint32()),
        ("ip6", pa.binary()),
        ("ip6b", pa.uint32()),
    ]
)


def canonicalize_pending(pending: Iterable[tuple[int, str]]) -> pa.Table:
    """Canonicalise (family code, raw) pairs into fix rows; a URL also fixes its host row.

    A value no normaliser accepts gets a NULL canon and so stays unmatched (and counted).
    """
    rows: list[tuple[int, str, str | None, bytes | None]] = []
    for code, raw in pending:
        name = FAMILIES[code]
        canonical = canonical_value(name, raw)
        value, host, ip6 = canonical or (None, None, None)
        rows.append((code, raw, value, None if name == "url" else ip6))
        if name == "url":
            rows.append((FAM["uhost"], raw, host, ip6))
    return pa.table(
        {
            "fam": pa.array([r[0] for r in rows], pa.uint8()),
            "raw": pa.array([r[1] for r in rows], pa.string()),
            "canon": pa.array([r[2] for r in rows], pa.string()),
            "ip4": pa.array([_ipv4_number(r[2], r[3]) for r in rows], pa.uint32()),
            "ip6": pa.array([r[3] for r in rows], pa.binary()),
            "ip6b": pa.array([_bucket(r[3]) for r in rows], pa.uint32()),
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


def _ipv4_number(value: str | None, ip6: bytes | None) -> int | None:
    if value is None or ip6 is not None or not _IPV4.fullmatch(value):
        return None
    return int(ipaddress.IPv4Address(value))


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
