"""ArcSight Common Event Format (CEF), bare or behind an RFC 3164 / RFC 5424 syslog header.

A record is ``CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|
Extension`` (ArcSight "Implementing ArcSight CEF", rev. 25). In the header ``\\|`` and ``\\\\`` are
escaped; in the extension ``\\=``, ``\\\\``, ``\\n`` and ``\\r`` are, and a value runs up to the
space before the next ``key=``. The writer half (:func:`format_cef`) escapes the same way, so
text an attacker controls cannot forge extension keys (case C025).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache

from indicia.errors import InputError
from indicia.logs.base import (
    Event,
    FieldValue,
    Lines,
    LogFormat,
    ParseResult,
    parse_each_line,
)
from indicia.logs.syslog import parse_prefix
from indicia.logs.syslog_bodies import add_iocs
from indicia.logs.times import parse_any_time

NAME = "cef"

# A key is a run of word characters (plus . [ ] -) after a space and before "=". An escaped "\="
# never ends a key because "\" is not a key character (CEF rev. 25, "Extension").
_KEY = re.compile(r" +([\w.\[\]-]+)=")
_EXT_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_EXT_UNESCAPED = {"=": "=", "\\": "\\", "n": "\n", "r": "\r"}
_HEADER_FIELD = re.compile(r"((?:[^|\\]|\\.)*)\|", re.DOTALL)
_HEADER_ESCAPE = re.compile(r"\\([|\\])")

# CEF keys with an ECS home (CEF rev. 25 key dictionary; ECS 8.x field names).
ECS_KEYS: Mapping[str, str] = {
    "src": "source.ip",
    "dst": "destination.ip",
    "spt": "source.port",
    "dpt": "destination.port",
    "smac": "source.mac",
    "dmac": "destination.mac",
    "shost": "source.domain",
    "dhost": "destination.domain",
    "suser": "source.user.name",
    "duser": "destination.user.name",
    "suid": "source.user.id",
    "duid": "destination.user.id",
    "sntdom": "source.user.domain",
    "dntdom": "destination.user.domain",
    "requestMethod": "http.request.method",
    "requestClientApplication": "user_agent.original",
    "requestContext": "http.request.referrer",
    "app": "network.protocol",
    "proto": "network.transport",
    "act": "event.action",
    "outcome": "event.outcome",
    "reason": "event.reason",
    "cat": "rule.category",
    "fname": "file.name",
    "filePath": "file.path",
    "fileType": "file.type",
    "fsize": "file.size",
    "msg": "message",
    "externalId": "event.id",
    "deviceExternalId": "observer.serial_number",
    "dvchost": "observer.hostname",
    "dvc": "observer.ip",
    "deviceInboundInterface": "observer.ingress.interface.name",
    "deviceOutboundInterface": "observer.egress.interface.name",
    "sourceTranslatedAddress": "source.nat.ip",
    "sourceTranslatedPort": "source.nat.port",
    "destinationTranslatedAddress": "destination.nat.ip",
    "destinationTranslatedPort": "destination.nat.port",
    "sproc": "process.name",
    "dproc": "process.name",
    "in": "source.bytes",
    "out": "destination.bytes",
    "cnt": "event.count",
}

INT_FIELDS = frozenset(
    {
        "source.port",
        "destination.port",
        "source.nat.port",
        "destination.nat.port",
        "source.bytes",
        "destination.bytes",
        "event.count",
        "file.size",
    }
)
HASH_BY_LENGTH: Mapping[int, str] = {
    32: "file.hash.md5",
    40: "file.hash.sha1",
    64: "file.hash.sha256",
    128: "file.hash.sha512",
}
_TIME_KEYS = ("rt", "end", "start")
# Custom fields whose meaning is given by a "<key>Label" pair (CEF rev. 25, "Custom Dictionary").
_LABELLED_RANGES = {
    "cs": 6, "cn": 3, "cfp": 4, "c6a": 4, "flexString": 2, "flexNumber": 2, "flexDate": 1,
    "deviceCustomDate": 2, "deviceCustomNumber": 3, "deviceCustomString": 6,
}  # fmt: skip
LABELLED_KEYS = frozenset(
    f"{stem}{n}" for stem, top in _LABELLED_RANGES.items() for n in range(1, top + 1)
)
_LABEL_KEYS = frozenset(key + "Label" for key in LABELLED_KEYS)
_EMPTY = frozenset({"", "-", '"-"'})
_DIRECTION = {"0": "inbound", "1": "outbound"}
_ACTION_FIELDS = frozenset({"event.action", "event.outcome"})
_CONVERTED = INT_FIELDS | _ACTION_FIELDS


class _CefSyntaxError(ValueError):
    """A line is not a CEF record; turned into an InputError or an Unreadable by the callers."""


def split_header(text: str) -> list[str]:
    """Split ``Version|...|Severity|Extension`` into its eight parts, removing header escapes."""
    parts = text.split("|", 7)
    if len(parts) < 8:
        raise _CefSyntaxError(f"CEF header has {len(parts)} of 8 '|'-separated fields")
    if "\\" in text and any("\\" in part for part in parts[:7]):
        parts = _split_escaped_header(text)
    return parts


def _split_escaped_header(text: str) -> list[str]:
    """The slow path of :func:`split_header`: scan for unescaped pipes (CEF rev. 25, "Header")."""
    fields: list[str] = []
    pos = 0
    for _ in range(7):
        match = _HEADER_FIELD.match(text, pos)
        if match is None:
            raise _CefSyntaxError(f"CEF header has {len(fields) + 1} of 8 '|'-separated fields")
        fields.append(_HEADER_ESCAPE.sub(r"\1", match.group(1)))
        pos = match.end()
    fields.append(text[pos:])
    return fields


def _unescape_value(match: re.Match[str]) -> str:
    char = match.group(1)
    return _EXT_UNESCAPED.get(char, match.group(0))


def split_extension(extension: str) -> dict[str, str]:
    """The extension's ``key=value`` pairs, values unescaped; leading junk goes under ``""``."""
    parts = _KEY.split(" " + extension.rstrip())
    values = iter(parts)
    head = next(values).strip()
    pairs = dict(zip(values, values, strict=True))
    if "\\" in extension:
        for key, value in pairs.items():
            if "\\" in value:
                pairs[key] = _EXT_ESCAPE.sub(_unescape_value, value)
    if head:
        pairs[""] = head
    return pairs


def parse_record(text: str) -> tuple[list[str], dict[str, str]]:
    """Split a record starting at ``CEF:`` into header fields and extension pairs."""
    header = split_header(text[4:])
    version = header[0].strip()
    if not version.isdecimal():
        raise _CefSyntaxError(f"CEF version {version!r} is not a number")
    header[0] = version
    return header, split_extension(header[7])


def _header_fields(header: list[str], fields: dict[str, FieldValue]) -> None:
    """Map the seven header fields to ECS (``observer.*``, ``rule.*``, ``event.severity``)."""
    version, vendor, product, device_version, signature, name, severity = header[:7]
    fields["cef.version"] = version
    if vendor:
        fields["observer.vendor"] = vendor
    if product:
        fields["observer.product"] = product
    if device_version:
        fields["observer.version"] = device_version
    if signature:
        fields["rule.id"] = signature
    if name:
        fields["rule.name"] = name
    severity = severity.strip()
    if severity.isdecimal():
        fields["event.severity"] = int(severity)
    elif severity:
        fields["cef.severity"] = severity


def _put(fields: dict[str, FieldValue], name: str, value: str) -> None:
    """Store one mapped value, as int for counters and ports, lower case for actions."""
    if name in INT_FIELDS:
        if value.isdecimal():
            fields[name] = int(value)
            return
        fields[f"cef.{name}"] = value
        return
    if name in _ACTION_FIELDS:
        value = value.lower()
    fields.setdefault(name, value)


def url_host(url: str) -> str:
    """The host of ``scheme://[user@]host[:port]/...`` without parsing the whole URL."""
    authority = url.partition("://")[2]
    for stop in "/?#":
        authority = authority.partition(stop)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host.partition("]")[0][1:]
    return host.partition(":")[0]


def _request_fields(value: str, fields: dict[str, FieldValue]) -> None:
    """``request`` is a full URL for proxies but only a path for many WAFs; keep both apart."""
    if "://" not in value:
        if value.startswith("/"):
            fields["url.path"] = value
        else:
            fields["url.original"] = value
        return
    fields["url.full"] = fields["url.original"] = value
    host = url_host(value)
    if host:
        fields["url.domain"] = host


def _extension_fields(pairs: dict[str, str], fields: dict[str, FieldValue]) -> None:
    """Map extension pairs to ECS names, labelled custom fields to ``cef.<label>``, rest kept.

    The IOCs in custom and vendor fields (a WAF's proxy address in ``cs3``, say) and in ``msg``
    are matched too: they join ``related.ip``, ``related.hosts`` and the like.
    """
    free_text: list[str] = []
    for key, value in pairs.items():
        ecs = ECS_KEYS.get(key)
        if ecs is None:
            if key in _OTHER_KNOWN:
                _other_known(key, value, pairs, fields)
                if key in LABELLED_KEYS and value not in _EMPTY:
                    free_text.append(value)
            elif value:
                fields["cef." + (key or "unparsed")] = value
                if key not in _TIME_KEYS:
                    free_text.append(value)
            continue
        if value in _EMPTY:
            continue
        if key == "msg":
            free_text.append(value)
        if ecs in _CONVERTED:
            _put(fields, ecs, value)
        elif ecs not in fields:
            fields[ecs] = value

    if "suser" in pairs or "duser" in pairs:
        user = pairs.get("suser") or pairs.get("duser") or ""
        if user not in _EMPTY:
            fields["user.name"] = user
    if "shost" in pairs or "dhost" in pairs:
        _ip_hosts(fields)
    for text in free_text:
        add_iocs(text, fields)


def _other_known(
    key: str, value: str, pairs: dict[str, str], fields: dict[str, FieldValue]
) -> None:
    """Keys with their own handling: request, fileHash, deviceDirection, labelled customs."""
    if value in _EMPTY or key in _LABEL_KEYS:
        return
    if key in _SPECIAL:
        _SPECIAL[key](value, fields)
    else:
        fields["cef." + (pairs.get(key + "Label") or key)] = value


def _file_hash(value: str, fields: dict[str, FieldValue]) -> None:
    """``fileHash`` names no algorithm; its length tells MD5, SHA-1, SHA-256 and SHA-512 apart."""
    fields[HASH_BY_LENGTH.get(len(value), "file.hash.unknown")] = value


def _direction(value: str, fields: dict[str, FieldValue]) -> None:
    """``deviceDirection``: 0 is inbound, 1 outbound (CEF rev. 25)."""
    fields["network.direction"] = _DIRECTION.get(value, value)


_SPECIAL = {"request": _request_fields, "fileHash": _file_hash, "deviceDirection": _direction}
_OTHER_KNOWN = frozenset(_SPECIAL) | LABELLED_KEYS | _LABEL_KEYS


def _ip_hosts(fields: dict[str, FieldValue]) -> None:
    """``shost``/``dhost`` often hold an address; copy it to the IP field when that is empty."""
    for side in ("source", "destination"):
        host = fields.get(f"{side}.domain")
        if isinstance(host, str) and host[:1].isdecimal() | (":" in host) and _is_ip(host):
            fields.setdefault(f"{side}.ip", host)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1024)
def _prefix(
    prefix: str, year: int | None
) -> tuple[tuple[tuple[str, FieldValue], ...], datetime | None]:
    """The syslog header in front of ``CEF:``, cached: a relay repeats it within each second."""
    fields: dict[str, FieldValue] = {}
    stamp = parse_prefix(prefix, fields, year)
    return tuple(fields.items()), stamp


# Consecutive events mostly share their second, so a small cache saves most time parsing.
_cached_time = lru_cache(maxsize=4096)(parse_any_time)


def _timestamp(
    pairs: dict[str, str], fallback: datetime | None, year: int | None
) -> datetime | None:
    """The event time: ``rt``, else ``end`` or ``start``, else the syslog header's time."""
    for key in _TIME_KEYS:
        value = pairs.get(key)
        if value:
            parsed = _cached_time(value, year)
            if parsed is not None:
                return parsed
    return fallback


def to_event(line: str, path: str = "-", number: int = 0, year: int | None = None) -> Event:
    """Parse one CEF line (bare or after a syslog header); :class:`InputError` if it is not CEF."""
    start = line.find("CEF:")
    try:
        if start < 0:
            raise _CefSyntaxError("no 'CEF:' record in the line")
        header, pairs = parse_record(line[start:])
    except _CefSyntaxError as exc:
        raise InputError(path, str(exc), line=number) from None

    fields: dict[str, FieldValue] = {}
    prefix_time = None
    if start:
        prefix = line[:start]
        if "[" in prefix:  # structured data is a nested dict: never share it between events
            prefix_time = parse_prefix(prefix, fields, year)
        else:
            prefix_fields, prefix_time = _prefix(prefix, year)
            fields.update(prefix_fields)
    _header_fields(header, fields)
    _extension_fields(pairs, fields)
    for key in _TIME_KEYS:
        if key in pairs:
            fields[f"cef.{key}"] = pairs[key]
    return Event(_timestamp(pairs, prefix_time, year), NAME, fields, path, number, line)


def parse(lines: Lines, path: str, year: int | None = None) -> Iterator[ParseResult]:
    """Yield an :class:`Event` per CEF line and an :class:`Unreadable` per line that is not."""
    return parse_each_line(
        lines,
        path,
        lambda line, source, number: to_event(line, source, number, year),
        "malformed CEF record",
    )


def sniff(sample: list[str]) -> bool:
    """CEF when most sample lines hold ``CEF:<version>|`` with at least seven pipes after it."""
    hits = sum(1 for line in sample if _looks_like_cef(line))
    return hits > 0 and hits * 2 >= len(sample)


def _looks_like_cef(line: str) -> bool:
    start = line.find("CEF:")
    return (
        start >= 0
        and line[start + 4 : start + 6].strip()[:1].isdecimal()
        and (line.count("|", start) >= 7)
    )


# ---- writing CEF -------------------------------------------------------------------------------


def escape_cef_header(value: str) -> str:
    """Escape a header field: ``\\`` and ``|`` get a backslash; line breaks become spaces."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return value.replace("\r", " ").replace("\n", " ")


def escape_cef_extension_value(value: str) -> str:
    """Escape ``\\``, ``=``, CR and LF in an extension value (CEF rev. 25): no key can be forged."""
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    return value.replace("\r", "\\r").replace("\n", "\\n")


_SAFE_KEY = re.compile(r"[\w.\[\]-]+")


def format_cef(
    vendor: str,
    product: str,
    version: str,
    signature_id: str,
    name: str,
    severity: int | str,
    extension: Mapping[str, str | int] | None = None,
) -> str:
    """One CEF:0 line with every field escaped; keys must be plain CEF key names."""
    head = [vendor, product, version, signature_id, name, str(severity)]
    line = "CEF:0|" + "|".join(escape_cef_header(part) for part in head) + "|"
    pairs = []
    for key, value in (extension or {}).items():
        if not _SAFE_KEY.fullmatch(key):
            raise InputError("CEF extension", f"key {key!r} is not a plain CEF key name")
        pairs.append(f"{key}={escape_cef_extension_value(str(value))}")
    return line + " ".join(pairs)


FORMAT = LogFormat(
    name=NAME,
    description="ArcSight Common Event Format, bare or after a syslog header",
    sniff=sniff,
    parse=parse,
    extensions=(".cef",),
)
