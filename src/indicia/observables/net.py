"""Canonical IPv4 and IPv6 addresses and networks, address-and-port pairs, and integer ranges.

Leading zeros in an IPv4 octet (``010.1.1.1``) are rejected: some parsers read them as octal
(``010`` is 8), others as decimal, so the value is ambiguous (the reason CPython's ipaddress
rejects them since 3.9.5).
"""

from __future__ import annotations

import ipaddress
import re
import socket

from indicia.errors import ObservableError
from indicia.observables.kinds import Kind, Observable

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
_LOOSEIPV4_RE = re.compile(r"[0-9]+(?:\.[0-9]+){3}", re.ASCII)
_PREFIX_RE = re.compile(r"0|[1-9][0-9]{0,2}", re.ASCII)
_IPV6_CHARS_RE = re.compile(r"[0-9A-Fa-f:.]+", re.ASCII)
_PORT_RE = re.compile(r"0|[1-9][0-9]{0,4}", re.ASCII)

_IPV4 = Kind.IPV4
_IPV6 = Kind.IPV6

# RFC 4291 2.5.5.2: ::ffff:0:0/96 holds IPv4-mapped addresses.
_MAPPED_NET = ipaddress.IPv6Network("::ffff:0:0/96")


def normalize_ipv4(raw: str) -> str:
    """Return the canonical dotted quad or CIDR (network address kept)."""
    return normalize_ipv4_observable(raw).value


def normalize_ipv6(raw: str) -> str:
    """Return the RFC 5952 form, or the IPv4 address when the address is IPv4-mapped."""
    return normalize_ipv6_observable(raw).value


def normalize_ipv4_observable(raw: str) -> Observable:
    """Normalise an IPv4 address or CIDR, warning when host bits were set."""
    value = raw.strip()
    if IPV4_RE.fullmatch(value):
        return Observable(_IPV4, value)

    if ":" in value:
        return _mapped_ipv4(raw, value)
    address, slash, prefix = value.partition("/")
    fast = _fast_ipv4_cidr(address, prefix)
    if fast is not None:
        return Observable(_IPV4, fast)
    _check_ipv4_address(value, address)
    if not slash:
        raise ObservableError(raw, "not an IPv4 address (dotted quad a.b.c.d, each 0-255)")
    return _network(raw, address, _prefix(raw, prefix, 32))


def normalize_ipv6_observable(raw: str) -> Observable:
    """Normalise an IPv6 address or CIDR; IPv4-mapped ones become IPv4."""
    value = raw.strip()
    fast = _fast_ipv6(value)
    if fast is not None:
        return Observable(_IPV6, fast)

    address, slash, prefix = value.partition("/")
    if "%" in address:
        raise ObservableError(raw, "an IPv6 zone index (%...) is local to one host; drop it")
    if ":" not in address or not _IPV6_CHARS_RE.fullmatch(address):
        raise ObservableError(raw, "not an IPv6 address (RFC 4291 2.2 text form)")

    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError as exc:
        raise ObservableError(raw, f"not an IPv6 address: {exc}") from None
    if not slash:
        return _plain_ipv6(parsed)
    return _network(raw, address, _prefix(raw, prefix, 128))


def normalize_network_traffic(raw: str) -> Observable:
    """Split ``ip:port`` or ``[v6]:port`` into an address observable carrying the port.

    An unbracketed IPv6 address is split at its last colon (ThreatFox writes ``2a02::5:40669``):
    the network-traffic hint says a port is there.
    """
    value = raw.strip()
    if value.startswith("["):
        address, sep, port = value[1:].partition("]:")
        if not sep:
            raise ObservableError(raw, "a bracketed IPv6 address needs a port: [2001:db8::1]:443")
    else:
        address, sep, port = value.rpartition(":")
        if not sep:
            raise ObservableError(raw, "network-traffic needs an address and a port (ip:port)")

    number = _port(raw, port)
    try:
        observable = normalize_ip_observable(address)
    except ObservableError as exc:
        raise ObservableError(raw, f"network-traffic needs an IP address: {exc.rule}") from None
    if observable.is_cidr:
        raise ObservableError(raw, "network-traffic needs one address, not a CIDR")
    return Observable(observable.kind, observable.value, number, observable.warnings)


def ip_range(value: str) -> tuple[int, int, int]:
    """Return (version, first, last) as integers for an IP address or CIDR."""
    canonical = normalize_ip_observable(value).value
    address, _, prefix = canonical.partition("/")
    if ":" in address:
        version, bits = 6, 128
        first = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
    else:
        version, bits = 4, 32
        first = int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    host_bits = bits - int(prefix) if prefix else 0
    return version, first, first | ((1 << host_bits) - 1)


def normalize_ip_observable(raw: str) -> Observable:
    """Normalise an IPv4 or IPv6 address or CIDR, telling them apart by the colon."""
    if ":" in raw:
        return normalize_ipv6_observable(raw)
    return normalize_ipv4_observable(raw)


def looks_like_ipv4(value: str) -> bool:
    """Whether the value has the shape of an IPv4 address or CIDR (checked loosely)."""
    return _LOOSEIPV4_RE.fullmatch(value.partition("/")[0]) is not None


def _check_ipv4_address(raw: str, address: str) -> None:
    if IPV4_RE.fullmatch(address):
        return
    if not _LOOSEIPV4_RE.fullmatch(address):
        raise ObservableError(raw, "not an IPv4 address (dotted quad a.b.c.d, each 0-255)")

    octets = address.split(".")
    if any(len(octet) > 1 and octet.startswith("0") for octet in octets):
        raise ObservableError(raw, "an IPv4 octet with a leading zero is ambiguous (octal?)")
    raise ObservableError(raw, "an IPv4 octet is above 255")


def _prefix(raw: str, prefix: str, limit: int) -> int:
    # A bare trailing slash ("192.0.2.4/") was once read as a network by MISP (case C020).
    if not prefix:
        raise ObservableError(raw, "a CIDR needs a prefix length after the slash")
    if not _PREFIX_RE.fullmatch(prefix) or int(prefix) > limit:
        raise ObservableError(raw, f"a CIDR prefix length must be a number from 0 to {limit}")
    return int(prefix)


def _port(raw: str, port: str) -> int:
    if not _PORT_RE.fullmatch(port) or int(port) > 65535:
        raise ObservableError(raw, "a port must be a number from 0 to 65535")
    return int(port)


def _network(raw: str, address: str, prefix: int) -> Observable:
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    if isinstance(network, ipaddress.IPv6Network):
        kind, value = _ipv6_network(network)
    elif prefix == 32:
        kind, value = Kind.IPV4, str(network.network_address)
    else:
        kind, value = Kind.IPV4, str(network)

    # RFC 4632 3.1: a prefix names its network; host bits are kept out but reported.
    if int(network.network_address) == int(ipaddress.ip_address(address)):
        return Observable(kind, value)
    return Observable(kind, value, None, (f"host bits set in {raw.strip()}; kept {value}",))


def _ipv6_network(network: ipaddress.IPv6Network) -> tuple[Kind, str]:
    # A mapped network of /96 or longer is an IPv4 network (::ffff:192.0.2.0/120 is a /24).
    if network.prefixlen >= 96 and network.subnet_of(_MAPPED_NET):
        mapped = network.network_address.ipv4_mapped
        prefix = network.prefixlen - 96
        return Kind.IPV4, str(mapped) if prefix == 32 else f"{mapped}/{prefix}"
    if network.prefixlen == 128:
        return Kind.IPV6, network.network_address.compressed
    return Kind.IPV6, network.compressed


def _mapped_ipv4(raw: str, value: str) -> Observable:
    # DESIGN: an IPv4-mapped IPv6 address is its IPv4 address, so it is one here too.
    try:
        observable = normalize_ipv6_observable(value)
    except ObservableError:
        observable = Observable(_IPV6, value)
    if observable.kind is not _IPV4:
        raise ObservableError(raw, "not an IPv4 address (dotted quad a.b.c.d, each 0-255)")
    return observable


def _fast_ipv4_cidr(address: str, prefix: str) -> str | None:
    # A canonical CIDR (valid prefix, no host bits) needs no ipaddress object.
    if not _PREFIX_RE.fullmatch(prefix) or not IPV4_RE.fullmatch(address) or int(prefix) > 32:
        return None
    host_bits = (1 << (32 - int(prefix))) - 1
    if int.from_bytes(socket.inet_aton(address), "big") & host_bits:
        return None
    return address if prefix == "32" else f"{address}/{prefix}"


def _fast_ipv6(value: str) -> str | None:
    # The C library prints RFC 5952 form (lower case, no leading zeros, longest run of two or
    # more zero groups as ::); it writes mapped and compatible forms with a dot, and those, as
    # well as CIDRs and anything it rejects, take the ipaddress path.
    if "/" in value or "%" in value:
        return None
    try:
        text = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
    except (OSError, ValueError):
        return None
    return None if "." in text else text


def _plain_ipv6(address: ipaddress.IPv6Address) -> Observable:
    mapped = address.ipv4_mapped
    if mapped is not None:
        note = f"an IPv4-mapped IPv6 address; kept its IPv4 address {mapped}"
        return Observable(Kind.IPV4, str(mapped), None, (note,))
    # ipaddress writes RFC 5952 4.2 form: no leading zeros, lower case, longest zero run as ::.
    return Observable(Kind.IPV6, address.compressed)
