"""Canonical IOC values: kinds, detection, normalisation, refanging and extraction from text.

Everything in Indicia asks this package what a value is and what its canonical form is
(DESIGN.md, "Canonical IOC values"). Every error is an :class:`indicia.errors.ObservableError`
naming the value and the rule it breaks.
"""

from indicia.observables.detect import detect_kind, normalize, parse_observable
from indicia.observables.extract import Extracted, extract_iocs
from indicia.observables.hashes import hash_kind_for_stix_key, normalize_hash
from indicia.observables.kinds import HASH_KINDS, Kind, Observable
from indicia.observables.names import is_known_tld, normalize_domain, normalize_email
from indicia.observables.net import ip_range, normalize_ipv4, normalize_ipv6
from indicia.observables.refang import refang
from indicia.observables.urls import normalize_url

__all__ = [
    "HASH_KINDS",
    "Extracted",
    "Kind",
    "Observable",
    "detect_kind",
    "extract_iocs",
    "hash_kind_for_stix_key",
    "ip_range",
    "is_known_tld",
    "normalize",
    "normalize_domain",
    "normalize_email",
    "normalize_hash",
    "normalize_ipv4",
    "normalize_ipv6",
    "normalize_url",
    "parse_observable",
    "refang",
]
