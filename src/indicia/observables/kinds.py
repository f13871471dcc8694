"""The kinds of observable Indicia knows, and the canonical value every normaliser returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from indicia.errors import ObservableError


class Kind(StrEnum):
    """An observable kind, named by its STIX 2.1 cyber-observable type (hashes by algorithm)."""

    IPV4 = "ipv4-addr"
    IPV6 = "ipv6-addr"
    DOMAIN = "domain-name"
    URL = "url"
    EMAIL = "email-addr"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    # Only an input hint ("203.0.113.5:443"); an Observable carries the address kind and a port.
    NETWORK_TRAFFIC = "network-traffic"


HASH_KINDS: frozenset[Kind] = frozenset({Kind.MD5, Kind.SHA1, Kind.SHA256, Kind.SHA512})


@dataclass(frozen=True, slots=True)
class Observable:
    """A canonical observable value; ``port`` is set when it came from an address-and-port."""

    kind: Kind
    value: str
    port: int | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_cidr(self) -> bool:
        """Whether the value is a network with a prefix length (never /32 or /128)."""
        return "/" in self.value and self.kind in (Kind.IPV4, Kind.IPV6)

    @property
    def stix_type(self) -> str:
        """The STIX 2.1 cyber-observable type that holds this value."""
        if self.port is not None:
            return "network-traffic"
        if self.kind in HASH_KINDS:
            return "file"
        return self.kind.value

    @property
    def display_type(self) -> str:
        """The type as the intel-management Types column shows it (``file:sha256``, ...)."""
        if self.port is not None:
            return "network-traffic"
        if self.kind in HASH_KINDS:
            return f"file:{self.kind.value}"
        return self.kind.value


# Kind names a user may type, beside the Kind values themselves. "ip", "cidr", "hash" and
# "file" are resolved later by looking at the value (IPv4 or IPv6; hash length).
ALIASES: dict[str, str] = {
    "ip": "ip",
    "cidr": "ip",
    "ipv4": Kind.IPV4,
    "ipv6": Kind.IPV6,
    "domain": Kind.DOMAIN,
    "fqdn": Kind.DOMAIN,
    "hostname": Kind.DOMAIN,
    "email": Kind.EMAIL,
    "e-mail": Kind.EMAIL,
    "sha-1": Kind.SHA1,
    "sha-256": Kind.SHA256,
    "sha-512": Kind.SHA512,
    "hash": "hash",
    "file": "hash",
}
ALIASES.update({kind.value: kind.value for kind in Kind})


def resolve_kind_name(kind: Kind | str) -> str:
    """Map a Kind or a typed kind name to a Kind value, or to ``"ip"`` / ``"hash"``."""
    if isinstance(kind, Kind):
        return kind.value

    name = ALIASES.get(kind) or ALIASES.get(kind.strip().lower())
    if name is None:
        known = ", ".join(sorted(ALIASES))
        raise ObservableError(kind, f"unknown observable kind; use one of: {known}")
    return name
