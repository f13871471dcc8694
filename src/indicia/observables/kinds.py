"""The kinds of observable Indicia knows, and the canonical value every normaliser returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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


@dataclass(frozen=True, slots=True, init=False)
class Observable:
    """A canonical observable value; ``port`` is set when it came from an address-and-port."""

    kind: Kind
    value: str
    port: int | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __init__(
        self, kind: Kind, value: str, port: int | None = None, warnings: tuple[str, ...] = ()
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through
        # object.__setattr__; the slot descriptors set them in half the time. Every pattern
        # and list row imported makes one of these.
        _set_kind(self, kind)
        _set_value(self, value)
        _set_port(self, port)
        _set_warnings(self, warnings)

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
        return _DISPLAY_TYPES[self.kind]


def _slot_setter(name: str) -> Callable[[Observable, Any], None]:
    slot: Any = Observable.__dict__[name]  # the slot's member descriptor
    setter: Callable[[Observable, Any], None] = slot.__set__
    return setter


_set_kind = _slot_setter("kind")
_set_value = _slot_setter("value")
_set_port = _slot_setter("port")
_set_warnings = _slot_setter("warnings")
_DISPLAY_TYPES = {kind: f"file:{kind.value}" if kind in HASH_KINDS else kind.value for kind in Kind}


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
# The Types column's names of hashes (file:sha256) are kinds a user may type too.
ALIASES.update({f"file:{kind.value}": kind.value for kind in HASH_KINDS})

# Every name the Types column shows.
DISPLAY_TYPES: frozenset[str] = frozenset({*_DISPLAY_TYPES.values(), "network-traffic"})


def resolve_kind_name(kind: Kind | str) -> str:
    """Map a Kind or a typed kind name to a Kind value, or to ``"ip"`` / ``"hash"``."""
    if isinstance(kind, Kind):
        return kind.value

    name = ALIASES.get(kind) or ALIASES.get(kind.strip().lower())
    if name is None:
        known = ", ".join(sorted(ALIASES))
        raise ObservableError(kind, f"unknown observable kind; use one of: {known}")
    return name
