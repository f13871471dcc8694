"""STIX 2.1 for Indicia: objects, patterns, TLP markings, kill chains and timestamps.

Errors are :class:`indicia.errors.StixError` (the object and field in the message) and its
subclass :class:`indicia.errors.PatternError`.
"""

from indicia.stix.builders import INDICATOR_TYPES, new_indicator, new_version, revoke
from indicia.stix.killchain import (
    LOCKHEED,
    LOCKHEED_PHASES,
    MITRE,
    MITRE_TACTICS,
    kill_chain_phase,
    parse_kill_chain,
)
from indicia.stix.markings import (
    TLP_LEVELS,
    is_tlp_marking_id,
    normalize_tlp,
    tlp_marking,
    tlp_marking_id,
    tlp_of,
)
from indicia.stix.objects import KNOWN_TYPES, new_id, validate_object
from indicia.stix.patterns import (
    build_pattern,
    extract_observables,
    quote_literal,
    validate_pattern,
)
from indicia.stix.timestamps import format_timestamp, now, parse_timestamp

__all__ = [
    "INDICATOR_TYPES",
    "KNOWN_TYPES",
    "LOCKHEED",
    "LOCKHEED_PHASES",
    "MITRE",
    "MITRE_TACTICS",
    "TLP_LEVELS",
    "build_pattern",
    "extract_observables",
    "format_timestamp",
    "is_tlp_marking_id",
    "kill_chain_phase",
    "new_id",
    "new_indicator",
    "new_version",
    "normalize_tlp",
    "now",
    "parse_kill_chain",
    "parse_timestamp",
    "quote_literal",
    "revoke",
    "tlp_marking",
    "tlp_marking_id",
    "tlp_of",
    "validate_object",
    "validate_pattern",
]
