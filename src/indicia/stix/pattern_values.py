"""Turn the ``=`` comparisons of one observation expression into canonical observables.

Both the regex fast path and the parse-tree walk in ``pattern_tree`` hand their comparisons
here, so the two agree on what a pattern matches. Each literal is checked against the STIX 2.1
cyber-observable definition of its type (section 6) before it reaches the matcher (case C010).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indicia.errors import ObservableError, PatternError
from indicia.observables import Kind, Observable, hash_kind_for_stix_key, normalize

__all__ = ["Comparison", "Literal", "observables_of"]

# A literal: a string, an integer, or None for the literal kinds we never match on.
Literal = str | int | None
PathStep = str | int
Comparison = tuple[str, tuple[PathStep, ...], Literal]

_VALUE_PATHS: dict[tuple[str, tuple[PathStep, ...]], Kind] = {
    ("ipv4-addr", ("value",)): Kind.IPV4,
    ("ipv6-addr", ("value",)): Kind.IPV6,
    ("domain-name", ("value",)): Kind.DOMAIN,
    ("url", ("value",)): Kind.URL,
    ("email-addr", ("value",)): Kind.EMAIL,
    ("email-message", ("from_ref", "value")): Kind.EMAIL,
    ("email-message", ("sender_ref", "value")): Kind.EMAIL,
}

# What each SCO value must hold (STIX 2.1 6.x); the wording is the analyst-facing rule.
_RULES = {
    Kind.IPV4: "ipv4-addr value must be an IPv4 address or CIDR",
    Kind.IPV6: "ipv6-addr value must be an IPv6 address or CIDR",
    Kind.DOMAIN: "domain-name value must be a domain name",
    Kind.URL: "url value must be a URL",
    Kind.EMAIL: "email-addr value must be an e-mail address (addr-spec)",
}
_DISPLAY_NAME_RULE = "email-addr value MUST NOT include the display name"
_ADDRESS_TYPES = {"ipv4-addr": Kind.IPV4, "ipv6-addr": Kind.IPV6, "domain-name": Kind.DOMAIN}
_IPV4_CHARS = re.compile(r"[0-9./]+")
_SIDES = {"dst_ref": "dst", "src_ref": "src", "dst_port": "dst", "src_port": "src"}


@dataclass
class _Side:
    """The network-traffic comparisons on one side (source or destination) of a connection."""

    values: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)


def observables_of(comparisons: list[Comparison], object_id: str | None = None) -> list[Observable]:
    """Return the observables of one observation expression's ``=`` comparisons."""
    found: list[Observable] = []
    sides: dict[str, _Side] = {}
    for object_type, path, literal in comparisons:
        kind = _VALUE_PATHS.get((object_type, path))
        if kind is not None:
            found.append(_value(kind, _string(literal, object_type, path, object_id), object_id))
        elif object_type == "file" and len(path) == 2 and path[0] == "hashes":
            found.extend(_hash(path[1], literal, object_id))
        elif object_type == "network-traffic":
            _collect_traffic(sides, path, literal, object_id)

    for side in sides.values():
        found.extend(_traffic(side, object_id))
    return found


def _string(
    literal: Literal, object_type: str, path: tuple[PathStep, ...], object_id: str | None
) -> str:
    if isinstance(literal, str):
        return literal
    where = f"{object_type}:{'.'.join(map(str, path))}"
    raise PatternError(
        f"{where} must be compared with a string literal", object_id=object_id, field="pattern"
    )


def _value(kind: Kind, raw: str, object_id: str | None) -> Observable:
    if kind == Kind.EMAIL and ("<" in raw or ">" in raw):
        raise PatternError(f"{_DISPLAY_NAME_RULE}: {raw!r}", object_id=object_id, field="pattern")

    try:
        obs = normalize(kind, raw)
    except ObservableError as exc:
        raise PatternError(
            f"{_RULES[kind]}: {raw!r} ({exc.rule})", object_id=object_id, field="pattern"
        ) from exc

    # An IPv4-mapped IPv6 address is its IPv4 address (DESIGN, canonical values); any other
    # change of kind means the literal was not of the type it was filed under.
    if obs.kind != kind and not (kind == Kind.IPV6 and obs.kind == Kind.IPV4):
        raise PatternError(f"{_RULES[kind]}: {raw!r}", object_id=object_id, field="pattern")
    return obs


def _hash(key: PathStep, literal: Literal, object_id: str | None) -> list[Observable]:
    try:
        kind = hash_kind_for_stix_key(str(key))
    except ObservableError:
        return []  # SSDEEP, TLSH, SHA3-*: valid STIX, but not a kind we match on

    raw = _string(literal, "file", ("hashes", key), object_id)
    try:
        return [normalize(kind, raw)]
    except ObservableError as exc:
        rule = f"file:hashes.'{key}' must be a {key} hex digest: {raw!r} ({exc.rule})"
        raise PatternError(rule, object_id=object_id, field="pattern") from exc


def _collect_traffic(
    sides: dict[str, _Side], path: tuple[PathStep, ...], literal: Literal, object_id: str | None
) -> None:
    side_name = _SIDES.get(str(path[0]))
    if side_name is None:
        return

    side = sides.setdefault(side_name, _Side())
    if path == (f"{side_name}_port",):
        side.ports.append(_port(literal, path[0], object_id))
    elif path == (f"{side_name}_ref", "value"):
        side.values.append(_string(literal, "network-traffic", path, object_id))
    elif path == (f"{side_name}_ref", "type") and isinstance(literal, str):
        side.types.append(literal)


def _port(literal: Literal, name: PathStep, object_id: str | None) -> int:
    # STIX 2.1 6.12: src_port and dst_port are integers 0-65535.
    if isinstance(literal, int) and not isinstance(literal, bool) and 0 <= literal <= 65535:
        return literal
    raise PatternError(
        f"network-traffic:{name} must be an integer 0-65535, not {literal!r}",
        object_id=object_id,
        field="pattern",
    )


def _traffic(side: _Side, object_id: str | None) -> list[Observable]:
    """One observable per address and port of a side: any of them matches (OR'ed or AND'ed)."""
    kinds = {_ADDRESS_TYPES.get(name) for name in side.types}
    if kinds == {None}:
        return []  # the ref is a mac-addr or another type we do not match on

    declared = [kind for kind in kinds if kind is not None]
    ports: list[int | None] = list(dict.fromkeys(side.ports)) or [None]
    found: list[Observable] = []
    for raw in side.values:
        kind = declared[0] if len(declared) == 1 else _address_kind(raw)
        obs = _value(kind, raw, object_id)
        found.extend(
            Observable(obs.kind, obs.value, port=port, warnings=obs.warnings) for port in ports
        )
    return found


def _address_kind(raw: str) -> Kind:
    if ":" in raw:
        return Kind.IPV6
    if _IPV4_CHARS.fullmatch(raw):
        return Kind.IPV4
    return Kind.DOMAIN
