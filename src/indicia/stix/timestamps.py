"""STIX 2.1 timestamps: strict RFC 3339 UTC in, millisecond or microsecond precision out.

STIX 2.1 section 3.2 fixes the form ``YYYY-MM-DDTHH:mm:ss[.s+]Z``: always UTC, a ``Z``, and
sub-second digits only when there is a decimal point. RFC 3339 allows any number of fraction
digits; we accept up to nine (nanoseconds) and truncate to the microseconds Python can hold.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime

from indicia.errors import StixError

__all__ = ["format_timestamp", "now", "parse_timestamp"]

_PRECISIONS = ("millisecond", "microsecond", "auto")

# Feeds repeat the same created/modified strings; a bounded cache halves the cost.
_CACHE: dict[str, datetime] = {}
_CACHE_SIZE = 65536


def parse_timestamp(
    value: str, *, field: str = "timestamp", object_id: str | None = None
) -> datetime:
    """Parse a STIX timestamp into an aware UTC datetime, truncating below the microsecond."""
    cached = _CACHE.get(value)
    if cached is not None:
        return cached

    parsed = _parse(value, field, object_id)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[value] = parsed
    return parsed


def known_timestamps() -> Container[object]:
    """The strings recently parsed as valid timestamps: a validator may skip re-checking them."""
    return _CACHE


def _parse(value: object, field: str, object_id: str | None) -> datetime:
    if not isinstance(value, str):
        kind = type(value).__name__
        raise StixError(f"must be a timestamp string, not {kind}", object_id=object_id, field=field)
    if not _has_stix_form(value):
        raise StixError(
            f"{value!r} is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z, UTC, STIX 2.1 3.2)",
            object_id=object_id,
            field=field,
        )

    # fromisoformat (C, Python 3.11+) checks the digits and the calendar, and truncates
    # fractions beyond six digits, as C011 requires.
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        message = f"{value!r} is not a valid date or time: {exc}"
        raise StixError(message, object_id=object_id, field=field) from exc


def _has_stix_form(value: str) -> bool:
    """The separators, the Z and the fraction digits; fromisoformat checks the other digits."""
    size = len(value)
    if not (size == 20 or 22 <= size <= 30) or not value.isascii():
        return False
    if value[-1] != "Z" or value[10] != "T" or value[4] != "-" or value[7] != "-":
        return False
    if value[13] != ":" or value[16] != ":":
        return False
    # fromisoformat reads six fraction digits and ignores the rest, so check them all here.
    return size == 20 or (value[19] == "." and value[20:-1].isdigit())


def format_timestamp(dt: datetime, *, precision: str = "millisecond") -> str:
    """Format an aware datetime as a STIX timestamp; ``auto`` keeps microseconds when needed."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise StixError(
            "a naive datetime has no time zone; STIX timestamps are UTC", field="timestamp"
        )
    if precision not in _PRECISIONS:
        raise StixError(f"precision must be one of {', '.join(_PRECISIONS)}, not {precision!r}")

    utc = dt.astimezone(UTC)
    date = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
    base = f"{date}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    micro = utc.microsecond
    if precision == "microsecond" or (precision == "auto" and micro % 1000):
        return f"{base}.{micro:06d}Z"

    # STIX 2.1 3.2: created and modified need at least millisecond precision; cut, never round.
    return f"{base}.{micro // 1000:03d}Z"


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
