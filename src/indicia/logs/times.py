"""Timestamps in the layouts log formats use, read as aware UTC datetimes.

A time without a zone is read as UTC; a fraction finer than microseconds is truncated, never
rounded. RFC 3164 times carry no year: callers pass one, else the latest year that does not put the
time in the future is used.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
# Abbreviations seen in syslog and CEF dates; anything else is read as UTC (documented above).
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "BST": 1,
}
_ZONE_NAMES = "|".join(_ZONES)
BSD_TIME = re.compile(
    r"([A-Z][a-z]{2}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
    rf"(?: ({_ZONE_NAMES}|[+-]\d\d:?\d\d)(?=[ :]|$))?"
)
ISO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?"
)
_SLASH_TIME = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")


def _zone(text: str | None) -> timezone:
    """A fixed-offset zone from ``Z``, ``+02:00``, ``-0500`` or a known abbreviation."""
    if not text or text in ("Z", "UTC", "GMT"):
        return UTC
    if text in _ZONES:
        return timezone(timedelta(hours=_ZONES[text]))
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _micros(fraction: str | None) -> int:
    """Microseconds from a fraction of any length, truncated (not rounded) past six digits."""
    return int((fraction or "0")[:6].ljust(6, "0"))


def parse_bsd_time(text: str, year: int | None = None) -> datetime | None:
    """``MMM dd [yyyy] HH:mm:ss[.fff] [zone]`` (RFC 3164 4.1.2, CEF) as aware UTC, or None."""
    match = BSD_TIME.match(text)
    if match is None or match.group(1) not in _MONTHS:
        return None
    mon, day, yyyy, hh, mm, ss, frac, zone = match.groups()
    fields = _Fields(_MONTHS[mon], int(day), int(hh), int(mm), int(ss), _micros(frac))
    given = int(yyyy) if yyyy else year
    if given is None:
        return _latest_past(fields, _zone(zone))
    return fields.at(given, _zone(zone))


class _Fields(NamedTuple):
    month: int
    day: int
    hour: int
    minute: int
    second: int
    micro: int

    def at(self, year: int, zone: tzinfo) -> datetime:
        """These fields in ``year`` and ``zone``, as UTC."""
        moment = datetime(
            year, self.month, self.day, self.hour, self.minute, self.second, self.micro, tzinfo=zone
        )
        return moment.astimezone(UTC)


def _latest_past(fields: _Fields, zone: tzinfo) -> datetime:
    """A yearless time in the latest year that does not put it in the future.

    A log read in early January still holds December's lines; a day of slack covers clocks and
    zones that run ahead of ours. Feb 29 goes to the latest leap year.
    """
    now = datetime.now(UTC)
    latest = now + timedelta(days=1)
    for year in range(now.year, now.year - 8, -1):
        if fields.month == 2 and fields.day == 29 and not calendar.isleap(year):
            continue  # Feb 29 of a yearless time: the latest leap year that is not ahead
        when = fields.at(year, zone)
        if when <= latest:
            return when
    raise ValueError(f"no year puts {fields.month}-{fields.day} in the past")


def parse_iso_time(text: str) -> datetime | None:
    """An RFC 3339 / ISO 8601 time as aware UTC (no zone means UTC), or None."""
    try:
        # The C parser of Python 3.11 reads RFC 3339 (and truncates past microseconds) fast.
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is not None and len(text) > 10:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    match = ISO_TIME.match(text)
    if match is None:
        return None
    y, mo, d, h, mi, s, frac, zone = match.groups()
    when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), _micros(frac), _zone(zone))
    return when.astimezone(UTC)


def parse_epoch(text: str) -> datetime | None:
    """Digits as seconds, milliseconds, microseconds or nanoseconds since 1970, by magnitude."""
    value = int(text)
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):
        if value < 100_000_000_000 * scale:
            return datetime.fromtimestamp(value / scale, UTC)
    return None


def parse_any_time(text: str, year: int | None = None) -> datetime | None:
    """A time in any layout these logs use (epoch, ISO 8601, BSD, ``yyyy/mm/dd``), or None."""
    text = text.strip()
    try:
        if text.isdecimal():
            return parse_epoch(text)
        if text[:1].isdecimal():
            slash = _SLASH_TIME.match(text)
            if slash:
                y, mo, d, h, mi, s = (int(part) for part in slash.groups())
                return datetime(y, mo, d, h, mi, s, tzinfo=UTC)
            return parse_iso_time(text)
        return parse_bsd_time(text, year)
    except (ValueError, OverflowError, OSError):
        return None
