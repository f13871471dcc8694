"""Which ECS event fields carry which observable kinds: the one table both engines read.

Kinds are ``indicia.observables.Kind`` values taken as plain strings, the form the Arrow and
DuckDB columns hold. A URL field carries the URL itself and, through its host, a domain name or
an IP address (DESIGN.md, "Matching"); the engines take the host from the canonical URL.
"""

from __future__ import annotations

from indicia.observables.kinds import Kind

# The kinds as plain strings (the values of indicia.observables.Kind), for table columns.
IPV4 = Kind.IPV4.value
IPV6 = Kind.IPV6.value
DOMAIN = Kind.DOMAIN.value
URL = Kind.URL.value
EMAIL = Kind.EMAIL.value
MD5 = Kind.MD5.value
SHA1 = Kind.SHA1.value
SHA256 = Kind.SHA256.value
SHA512 = Kind.SHA512.value

IP_KINDS: tuple[str, ...] = (IPV4, IPV6)
HASH_KINDS: tuple[str, ...] = (MD5, SHA1, SHA256, SHA512)

IP_FIELDS: tuple[str, ...] = (
    "source.ip",
    "destination.ip",
    "client.ip",
    "server.ip",
    "related.ip",
    "host.ip",
    "source.nat.ip",
    "destination.nat.ip",
)

# dns.answers.data holds a name for CNAME/NS/PTR/MX answers; an address there is not a name and
# is skipped by the domain canonicaliser rather than matched as one.
DOMAIN_FIELDS: tuple[str, ...] = (
    "dns.question.name",
    "url.domain",
    "destination.domain",
    "source.domain",
    "server.domain",
    "tls.client.server_name",
    "related.hosts",
    "dns.answers.data",
)

URL_FIELDS: frozenset[str] = frozenset({"url.full", "url.original"})

# related.email is not ECS: the parsers put the addresses they find in free text there.
EMAIL_FIELDS: tuple[str, ...] = (
    "email.from.address",
    "email.to.address",
    "email.sender.address",
    "user.email",
    "related.email",
)

HASH_FIELDS: dict[str, str] = {
    f"{owner}.hash.{algorithm}": algorithm
    for owner in ("file", "process")
    for algorithm in HASH_KINDS
}

FIELD_KINDS: dict[str, tuple[str, ...]] = {
    **{name: IP_KINDS for name in IP_FIELDS},
    **{name: (DOMAIN,) for name in DOMAIN_FIELDS},
    **{name: (URL, DOMAIN, IPV4, IPV6) for name in sorted(URL_FIELDS)},
    **{name: (EMAIL,) for name in EMAIL_FIELDS},
    **{name: (kind,) for name, kind in HASH_FIELDS.items()},
}

# A network-traffic entry (one with a port) matches only when the event's port equals it; the
# port of the source side is source.port, every other field is checked against destination.port.
PORT_FIELDS: dict[str, str] = {"source.ip": "source.port", "source.nat.ip": "source.nat.port"}
DEFAULT_PORT_FIELD = "destination.port"

# Values that stand for "no value" in common log formats; compared before canonicalisation,
# case-insensitively and after stripping whitespace (see PLACEHOLDER_VALUES_LOWER).
PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {"", "-", "(null)", "null", "none", "N/A", "0.0.0.0", "::", "(empty)", "unknown"}
)
PLACEHOLDER_VALUES_LOWER: frozenset[str] = frozenset(v.lower() for v in PLACEHOLDER_VALUES)


def port_field(field: str) -> str:
    """Name the event field whose port a network-traffic entry on ``field`` is checked against."""
    return PORT_FIELDS.get(field, DEFAULT_PORT_FIELD)


def is_placeholder(value: str) -> bool:
    """Say whether a raw event value stands for "no value" and must never match."""
    return value.strip().lower() in PLACEHOLDER_VALUES_LOWER
