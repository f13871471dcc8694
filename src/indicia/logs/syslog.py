"""Syslog lines: RFC 5424 and RFC 3164 headers, plus the vendor bodies seen behind them.

The header gives time, host, app name, pid and msgid; RFC 5424 structured data comes out exact
(``syslog.structured_data``, escapes removed per RFC 5424 6.3.3). Bodies of FortiGate
``key=value`` logs, PAN-OS CSV logs and Cisco ASA ``%ASA-`` messages are mapped to ECS; any other
message has its IOCs extracted. RFC 3164 timestamps carry no year: it comes from the ``year``
argument of :func:`parse`, else the current UTC year.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from indicia.errors import InputError
from indicia.logs import syslog_bodies
from indicia.logs.base import (
    Event,
    FieldValue,
    Lines,
    LogFormat,
    ParseResult,
    parse_each_line,
)
from indicia.logs.times import BSD_TIME, ISO_TIME, parse_bsd_time, parse_iso_time

NAME = "syslog"

_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(r"(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+)(?: |$)")
_TAG = re.compile(r"([^\s\[\]:]+)(?:\[(\w+)\])?:")
_BOM = "\ufeff"
_SD_ESCAPE = re.compile(r"\\([\"\\\]])")


# ---- header ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Header:
    """What a syslog header says; ``rest`` is the text after it (the MSG part)."""

    rest: str
    rfc: str = ""
    priority: int | None = None
    timestamp: datetime | None = None
    hostname: str | None = None
    app_name: str | None = None
    procid: str | None = None
    msgid: str | None = None
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)


def _nil(value: str) -> str | None:
    """RFC 5424 6.2: "-" is the NILVALUE."""
    return None if value == "-" else value


def parse_header(line: str, year: int | None = None) -> Header:
    """Split off an RFC 5424 or RFC 3164 header; a line with neither has ``rfc == ""``."""
    header = Header(line)
    pri = _PRI.match(line)
    if pri:
        header.priority = int(pri.group(1))
        header.rest = line[pri.end() :]
        header.rfc = "pri"
        match = _RFC5424.match(header.rest)
        if match and (match.group(2) == "-" or ISO_TIME.match(match.group(2))):
            return _rfc5424(header, match)
    return _rfc3164(header, year)


def _rfc5424(header: Header, match: re.Match[str]) -> Header:
    """RFC 5424 6: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG], space-separated."""
    header.rfc = "5424"
    _, stamp, host, app, procid, msgid = match.groups()
    header.timestamp = None if stamp == "-" else parse_iso_time(stamp)
    header.hostname, header.app_name = _nil(host), _nil(app)
    header.procid, header.msgid = _nil(procid), _nil(msgid)

    rest = header.rest[match.end() :]
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        header.structured_data, rest = parse_structured_data(rest)
    rest = rest[1:] if rest.startswith(" ") else rest
    header.rest = rest[1:] if rest.startswith(_BOM) else rest  # RFC 5424 6.4: MSG may carry a BOM
    return header


def parse_structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """Read ``[id name="value" ...]...`` (RFC 5424 6.3) from the start of ``text``; return the rest.

    Inside PARAM-VALUE only ``\\"``, ``\\\\`` and ``\\]`` are escapes; any other backslash stays as
    it is (RFC 5424 6.3.3). Raises :class:`InputError` on malformed structured data.
    """
    elements: dict[str, dict[str, str]] = {}
    pos = 0
    while pos < len(text) and text[pos] == "[":
        sd_id, params, pos = _sd_element(text, pos + 1)
        elements[sd_id] = params
    return elements, text[pos:]


def _sd_element(text: str, pos: int) -> tuple[str, dict[str, str], int]:
    """One SD-ELEMENT from just after its ``[``; returns id, params and the index after ``]``."""
    end = _name_end(text, pos)
    sd_id, pos = text[pos:end], end
    params: dict[str, str] = {}
    while True:
        if pos >= len(text):
            raise _sd_error(f"element {sd_id!r} is not closed")
        if text[pos] == "]":
            return sd_id, params, pos + 1
        if text[pos] != " ":
            raise _sd_error(f"unexpected {text[pos]!r} in element {sd_id!r}")
        name_end = _name_end(text, pos + 1)
        name = text[pos + 1 : name_end]
        if text[name_end : name_end + 2] != '="':
            raise _sd_error(f"parameter {name!r} has no quoted value")
        value, pos = _sd_value(text, name_end + 2)
        params[name] = value


def _sd_error(reason: str) -> InputError:
    return InputError("RFC 5424 structured data", reason)


def _name_end(text: str, pos: int) -> int:
    """End of an SD-NAME: up to 32 printable characters except '=', ' ', ']' and '"'."""
    end = pos
    while end < len(text) and text[end] not in '= ]"':
        end += 1
    if end == pos:
        raise _sd_error(f"empty name at column {pos + 1}")
    return end


def _sd_value(text: str, pos: int) -> tuple[str, int]:
    """A PARAM-VALUE from after its opening quote to its closing quote, escapes removed."""
    end = pos
    while True:
        end = text.find('"', end)
        if end < 0:
            raise _sd_error("a value is not closed")
        backslashes = len(text[pos:end]) - len(text[pos:end].rstrip("\\"))
        if backslashes % 2 == 0:
            break
        end += 1
    return _SD_ESCAPE.sub(r"\1", text[pos:end]), end + 1


def _rfc3164(header: Header, year: int | None) -> Header:
    """RFC 3164 4.1.2: TIMESTAMP SP HOSTNAME SP TAG[pid]: MSG, with the vendor variants seen."""
    rest = header.rest
    match = BSD_TIME.match(rest)
    iso = None if match else ISO_TIME.match(rest)
    stamp = match or iso
    if stamp is None:
        return header
    header.timestamp = parse_bsd_time(rest, year) if match else parse_iso_time(rest)
    header.rfc = "3164"

    rest = rest[stamp.end() :].lstrip(" ")
    rest = rest[1:].lstrip(" ") if rest.startswith(":") else rest  # Cisco "09:36:50: %ASA-"
    _host_and_tag(header, rest)
    return header


def _host_and_tag(header: Header, rest: str) -> None:
    """Tell the hostname and the ``tag[pid]:`` apart in what follows the timestamp."""
    tokens = rest.split(" ", 2)
    if tokens[0].startswith("%") or _TAG.fullmatch(tokens[0]):
        header.rest = rest
    elif len(tokens) > 1 and tokens[1] == ":":
        header.hostname, header.rest = tokens[0], tokens[2] if len(tokens) > 2 else ""
        return
    else:
        header.hostname = tokens[0]
        header.rest = rest[len(tokens[0]) + 1 :]

    tag = _TAG.match(header.rest)
    if tag and not header.rest.startswith("%") and _tag_ends(header.rest, tag.end()):
        header.app_name, header.procid = tag.group(1), tag.group(2)
        header.rest = header.rest[tag.end() :].lstrip(" ")


def _tag_ends(text: str, end: int) -> bool:
    """A tag's colon is followed by a space or the end of the line (not ``key=a:b``)."""
    return end == len(text) or text[end] == " "


def parse_prefix(
    prefix: str, fields: dict[str, FieldValue], year: int | None = None
) -> datetime | None:
    """Read the syslog header in front of an embedded record (CEF); store host/app, return time.

    A relay may put its own RFC 3164 header before the device's RFC 5424 one; the inner one wins.
    """
    inner = prefix.rfind("<")
    header = parse_header(prefix[inner:], year) if inner > 0 else None
    if header is None or header.rfc != "5424":
        header = parse_header(prefix, year)
    _header_fields(header, fields)
    return header.timestamp


def _header_fields(header: Header, fields: dict[str, FieldValue]) -> None:
    """Store the header's parts under ECS ``log.syslog.*`` and ``host.name``."""
    if header.hostname:
        fields["host.name"] = header.hostname
    if header.app_name:
        fields["log.syslog.appname"] = header.app_name
    if header.procid:
        fields["log.syslog.procid"] = header.procid
    if header.msgid:
        fields["log.syslog.msgid"] = header.msgid
    if header.priority is not None:
        fields["log.syslog.priority"] = header.priority
    if header.structured_data:
        fields["syslog.structured_data"] = header.structured_data
        for sd_id, params in header.structured_data.items():
            for name, value in params.items():
                fields[f"syslog.sd.{sd_id}.{name}"] = value
                # Structured data is matched too: its values' IOCs join related.*.
                syslog_bodies.add_iocs(value, fields)
        # RFC 5424 7.2.1: the originator's address.
        origin = header.structured_data.get("origin", {}).get("ip")
        if origin and syslog_bodies.is_ip(origin):
            fields.setdefault("host.ip", origin)


# ---- the format --------------------------------------------------------------------------------


def to_event(line: str, path: str = "-", number: int = 0, year: int | None = None) -> Event:
    """Parse one syslog line; :class:`InputError` when it has no syslog header and no known body."""
    try:
        header = parse_header(line, year)
    except InputError as exc:
        raise InputError(path, exc.reason, line=number) from None
    fields: dict[str, FieldValue] = {}
    _header_fields(header, fields)

    body = syslog_bodies.parse_body(header.rest, fields, year)
    if body is None and not header.rfc:
        raise InputError(
            path, "no RFC 3164 or RFC 5424 header and no known vendor body", line=number
        )
    source, timestamp = body or (NAME, None)
    return Event(timestamp or header.timestamp, source, fields, path, number, line)


def parse(lines: Lines, path: str, year: int | None = None) -> Iterator[ParseResult]:
    """Yield an :class:`Event` per syslog line and an :class:`Unreadable` per line that is not."""
    return parse_each_line(
        lines,
        path,
        lambda line, source, number: to_event(line, source, number, year),
        "malformed message body",
    )


def sniff(sample: list[str]) -> bool:
    """Syslog when most sample lines have a syslog header or a known vendor body."""
    hits = sum(1 for line in sample if _looks_like_syslog(line))
    return hits > 0 and hits * 2 >= len(sample)


def _looks_like_syslog(line: str) -> bool:
    if _PRI.match(line) or BSD_TIME.match(line):
        return True
    return syslog_bodies.looks_like_body(line)


def with_year(year: int) -> LogFormat:
    """The syslog format with a fixed year for RFC 3164 timestamps (which carry none)."""
    return LogFormat(NAME, FORMAT.description, sniff, partial(parse, year=year))


FORMAT = LogFormat(
    name=NAME,
    description="Syslog (RFC 5424, RFC 3164) incl. FortiGate, PAN-OS and Cisco ASA bodies",
    sniff=sniff,
    parse=parse,
    extensions=(".log", ".syslog"),
)
