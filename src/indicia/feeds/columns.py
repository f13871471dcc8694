"""Column names of CSV feeds: which column holds the value, which are known fields, which not.

A header name is normalised (lower case, runs of other characters turned into ``_``) and
then looked up here. A value column is either named as such (``value``, ``indicator``,
``ioc``, ``observable``) or named after an observable kind (``ip``, ``fqdn``, ``sha256``);
a kind column also gives the row's type hint, in the names ``indicia.observables`` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Column", "classify", "is_known", "normalize_name"]

VALUE_NAMES = frozenset({"value", "indicator", "ioc", "observable", "indicator_value"})

# Column name -> observable kind hint (see indicia.observables.kinds.ALIASES).
KIND_COLUMNS: dict[str, str] = {
    "ip": "ip",
    "ip_address": "ip",
    "ipaddress": "ip",
    "dst_ip": "ip",
    "src_ip": "ip",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "cidr": "ip",
    "domain": "domain",
    "domain_name": "domain",
    "fqdn": "domain",
    "hostname": "domain",
    "url": "url",
    "email": "email",
    "email_address": "email",
    "md5": "md5",
    "sha1": "sha1",
    "sha_1": "sha1",
    "sha256": "sha256",
    "sha_256": "sha256",
    "sha512": "sha512",
    "sha_512": "sha512",
    "hash": "hash",
}

# Column name -> the field name a ValueRecord carries (records.FIELD_NAMES).
FIELD_ALIASES: dict[str, str] = {
    "type": "type",
    "ioc_type": "type",
    "observable_type": "type",
    "kind": "type",
    "name": "name",
    "title": "name",
    "description": "description",
    "comment": "description",
    "notes": "description",
    "confidence": "confidence",
    "score": "confidence",
    "tags": "tags",
    "tag": "tags",
    "labels": "tags",
    "label": "tags",
    "tlp": "tlp",
    "valid_from": "valid_from",
    "first_seen": "valid_from",
    "first_seen_utc": "valid_from",
    "firstseen": "valid_from",
    "valid_until": "valid_until",
    "expiration": "valid_until",
    "expires": "valid_until",
    "source": "source",
    "feed": "source",
    "severity": "severity",
    "kill_chain": "kill_chain",
    "kill_chain_phases": "kill_chain",
    "indicator_types": "indicator_types",
    "indicator_type": "indicator_types",
    "threat_type": "indicator_types",
}

_NOT_WORD = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: its normalised name and its role (value, kind, field or extra)."""

    name: str
    role: str  # "value", "kind" (a value column named after a kind), "field" or "extra"
    field: str  # the field name a row's cell goes under; for "kind", the type hint


def normalize_name(header: str) -> str:
    """``"Malware Family "`` -> ``"malware_family"``; ``"SHA-256"`` -> ``"sha_256"``."""
    return _NOT_WORD.sub("_", header.strip().lower()).strip("_")


def is_known(header: str) -> bool:
    """Whether a header cell names a column Indicia knows (so a row holding it is a header)."""
    name = normalize_name(header)
    return name in VALUE_NAMES or name in KIND_COLUMNS or name in FIELD_ALIASES


def classify(headers: list[str]) -> list[Column]:
    """Give each header its role; kind columns hold values only when no value column exists."""
    names = [
        normalize_name(header) or f"column_{index + 1}" for index, header in enumerate(headers)
    ]
    has_value = any(name in VALUE_NAMES for name in names)
    columns = []
    for name in names:
        if name in VALUE_NAMES:
            columns.append(Column(name, "value", "value"))
        elif name in KIND_COLUMNS and not has_value:
            columns.append(Column(name, "kind", KIND_COLUMNS[name]))
        elif name in FIELD_ALIASES:
            columns.append(Column(name, "field", FIELD_ALIASES[name]))
        else:
            columns.append(Column(name, "extra", name))
    return _first_value_only(columns)


def _first_value_only(columns: list[Column]) -> list[Column]:
    """A second column named ``value`` (or ``ioc``...) is kept as an extra field."""
    seen = False
    kept = []
    for column in columns:
        if column.role == "value":
            kept.append(column if not seen else Column(column.name, "extra", column.name))
            seen = True
        else:
            kept.append(column)
    return kept
