"""STIX patterns: build them from observables, and extract the observables a pattern matches on.

Grammar: STIX 2.1 section 9 (Patterning). A pattern is observation expressions (``[...]``) joined
by AND / OR / FOLLOWEDBY; inside one, comparisons ``type:path op literal`` joined by AND / OR.
String literals are quoted with ``'`` and escape only ``\\'`` and ``\\\\`` (9.3).

The common forms are recognised by a compiled regex (``pattern_fast``); everything else is
checked with stix2patterns and walked from its parse tree (``pattern_tree``).
"""

from __future__ import annotations

from collections.abc import Sequence

from indicia.errors import PatternError
from indicia.observables import Kind, Observable
from indicia.stix.pattern_fast import fast_observations
from indicia.stix.pattern_values import Comparison, observables_of

__all__ = ["build_pattern", "extract_observables", "quote_literal", "validate_pattern"]

_HASH_KEYS = {Kind.MD5: "MD5", Kind.SHA1: "SHA-1", Kind.SHA256: "SHA-256", Kind.SHA512: "SHA-512"}
_ADDRESS_KINDS = (Kind.IPV4, Kind.IPV6, Kind.DOMAIN)

# Patterns recur (validation, then the store's projection, then re-imports): remember the
# observables of recent ones. Observables are frozen, so sharing them is safe.
_RESULTS: dict[str, tuple[Observable, ...]] = {}
_RESULTS_SIZE = 16384


def quote_literal(value: str) -> str:
    """Quote ``value`` as a STIX pattern string literal, escaping ``\\`` and ``'`` (9.3)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_pattern(observables: Sequence[Observable]) -> str:
    """Build a pattern matching any of ``observables``: one observation expression each, OR'ed."""
    if not observables:
        raise PatternError("a pattern needs at least one observable", field="pattern")
    return " OR ".join(f"[{_comparison_text(obs)}]" for obs in observables)


def _comparison_text(obs: Observable) -> str:
    literal = quote_literal(obs.value)
    if obs.port is not None:
        return _network_traffic_text(obs, literal)

    hash_key = _HASH_KEYS.get(obs.kind)
    if hash_key is not None:
        return f"file:hashes.'{hash_key}' = {literal}"
    if obs.kind == Kind.NETWORK_TRAFFIC:
        raise PatternError("a network-traffic observable needs an address kind", field="pattern")
    return f"{obs.kind.value}:value = {literal}"


def _network_traffic_text(obs: Observable, literal: str) -> str:
    if obs.kind not in _ADDRESS_KINDS:
        raise PatternError(
            f"a port needs an address or domain, not {obs.kind.value}", field="pattern"
        )
    return (
        f"network-traffic:dst_ref.type = '{obs.kind.value}' AND "
        f"network-traffic:dst_ref.value = {literal} AND network-traffic:dst_port = {obs.port}"
    )


def extract_observables(pattern: str, *, object_id: str | None = None) -> list[Observable]:
    """Return the canonical observables a STIX pattern's ``=`` comparisons match on, in order."""
    cached = _RESULTS.get(pattern) if isinstance(pattern, str) else None
    if cached is not None:
        return list(cached)
    if not isinstance(pattern, str):
        raise PatternError("a pattern must be a string", object_id=object_id, field="pattern")

    observations = fast_observations(pattern)
    if observations is None:
        observations = _parsed_observations(pattern, object_id)
    found = _observables(observations, object_id)

    if len(_RESULTS) >= _RESULTS_SIZE:
        _RESULTS.clear()
    _RESULTS[pattern] = tuple(found)
    return found


def validate_pattern(pattern: str) -> None:
    """Check ``pattern`` against the full STIX 2.1 pattern grammar; raise PatternError if not."""
    from indicia.stix.pattern_tree import grammar_errors

    errors = grammar_errors(pattern)
    if errors:
        raise PatternError("; ".join(errors), field="pattern")


def _parsed_observations(pattern: str, object_id: str | None) -> list[list[Comparison]]:
    # Imported here: the ANTLR runtime costs start-up time the fast path never needs.
    from indicia.stix.pattern_tree import parse_observations

    return parse_observations(pattern, object_id)


def _observables(observations: list[list[Comparison]], object_id: str | None) -> list[Observable]:
    if len(observations) == 1:
        single = observables_of(observations[0], object_id)
        if len(single) < 2:
            return single  # the common one-comparison pattern: nothing to deduplicate
    found: dict[Observable, None] = {}
    for comparisons in observations:
        for obs in observables_of(comparisons, object_id):
            found.setdefault(obs, None)
    return list(found)
