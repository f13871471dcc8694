"""Canonical file hashes: lower-case hex, with the algorithm told by length or by its STIX key."""

from __future__ import annotations

import re

from indicia.errors import ObservableError
from indicia.observables.kinds import Kind

_HEX_RE = re.compile(r"[0-9a-f]+", re.ASCII)

HASH_LENGTHS: dict[int, Kind] = {32: Kind.MD5, 40: Kind.SHA1, 64: Kind.SHA256, 128: Kind.SHA512}
_DIGITS: dict[Kind, int] = {kind: length for length, kind in HASH_LENGTHS.items()}
_LABELS: dict[Kind, str] = {
    Kind.MD5: "MD5",
    Kind.SHA1: "SHA-1",
    Kind.SHA256: "SHA-256",
    Kind.SHA512: "SHA-512",
}

# STIX 2.1 10.7 hash-algorithm-ov spells them "MD5", "SHA-1", "SHA-256", "SHA-512"; feeds
# also write "SHA1", "sha256", "sha_256". Keys are compared without case, '-' and '_'.
_KEYS: dict[str, Kind] = {kind.value: kind for kind in _DIGITS}
_SPELLINGS: dict[str, Kind] = {}  # keys as written in patterns, already folded


def hash_kind_for_stix_key(key: str) -> Kind:
    """Return the hash Kind for a STIX hashes key such as ``SHA-256`` (or ``sha256``)."""
    kind = _SPELLINGS.get(key)
    if kind is not None:
        return kind
    folded = key.strip().lower().replace("-", "").replace("_", "")
    kind = _KEYS.get(folded)
    if kind is None:
        raise ObservableError(key, "unsupported hash algorithm; use MD5, SHA-1, SHA-256 or SHA-512")
    if len(_SPELLINGS) < 64:  # keys are free text; remember only the first few spellings
        _SPELLINGS[key] = kind
    return kind


def normalize_hash(raw: str, algorithm: str | None = None) -> tuple[Kind, str]:
    """Return (hash Kind, lower-case hex), checking the length against the algorithm if given."""
    value = raw.strip().lower()
    if not _HEX_RE.fullmatch(value):
        raise ObservableError(raw, "a hash is hexadecimal digits only (0-9, a-f)")

    if algorithm is not None:
        kind = hash_kind_for_stix_key(algorithm)
        if len(value) != _DIGITS[kind]:
            label = _LABELS[kind]
            rule = f"a {label} hash has {_DIGITS[kind]} hex digits, this one has {len(value)}"
            raise ObservableError(raw, rule)
        return kind, value

    by_length = HASH_LENGTHS.get(len(value))
    if by_length is None:
        rule = "a hash has 32 (MD5), 40 (SHA-1), 64 (SHA-256) or 128 (SHA-512) hex digits, "
        raise ObservableError(raw, rule + f"this one has {len(value)}")
    return by_length, value


def normalize_hash_of_kind(raw: str, kind: Kind) -> str:
    """Return the lower-case hex of a hash that must be of the given hash Kind."""
    value = raw.strip().lower()
    if len(value) == _DIGITS[kind] and _HEX_RE.fullmatch(value):
        return value
    return normalize_hash(raw, _LABELS[kind])[1]
