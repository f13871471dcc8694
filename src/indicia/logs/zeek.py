"""Zeek logs, in the ASCII (TSV) writer's form and the JSON writer's form.

TSV files open with ``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``,
``#path``, ``#fields`` and ``#types`` lines (Zeek "Logging Framework", ASCII writer); the unset
and empty markers never become values. JSON lines carry the same field names; the log kind comes
from ``_path``, else the record's fields, else the file name. Values are kept as Zeek wrote them
(its ``\\xHH`` escapes too); btest baselines mask times as ``XXXXXXXXXX.XXXXXX``, read as no time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.json_records import MAX_TEXT, parse_time, to_port

NAME = "zeek"
MASKED_TIME = "XXXXXXXXXX.XXXXXX"
KNOWN_PATHS = frozenset(
    {"conn", "dns", "http", "ssl", "files", "smtp", "x509", "intel", "weird", "ssh", "notice"}
    | {"dhcp", "ftp", "kerberos", "ntlm", "rdp", "sip", "smb_files", "software", "tunnel"}
)
_PATH_ALIASES = {"connection": "conn", "tls": "ssl", "file": "files"}
_TOKEN = re.compile(r"[a-z0-9_]+")

# Zeek field names with an ECS home, the same in every log that has them.
ECS_FIELDS: Mapping[str, str] = {
    "id.orig_h": "source.ip",
    "id.orig_p": "source.port",
    "id.resp_h": "destination.ip",
    "id.resp_p": "destination.port",
    "proto": "network.transport",
    "query": "dns.question.name",
    "qtype_name": "dns.question.type",
    "rcode_name": "dns.response_code",
    "answers": "dns.answers.data",
    "method": "http.request.method",
    "status_code": "http.response.status_code",
    "user_agent": "user_agent.original",
    "referrer": "http.request.referrer",
    "username": "user.name",
    "server_name": "tls.client.server_name",
    "ja3": "tls.client.ja3",
    "md5": "file.hash.md5",
    "sha1": "file.hash.sha1",
    "sha256": "file.hash.sha256",
    "filename": "file.name",
    "mime_type": "file.mime_type",
    "mailfrom": "email.from.address",
    "rcptto": "email.to.address",
    "subject": "email.subject",
    "san.dns": "tls.server.x509.alternative_names",
    "certificate.subject": "tls.server.x509.subject.distinguished_name",
    "certificate.issuer": "tls.server.x509.issuer.distinguished_name",
    "note": "rule.name",
    "msg": "message",
}
INT_FIELDS = frozenset({"source.port", "destination.port", "http.response.status_code"})
LIST_FIELDS = frozenset(
    {"dns.answers.data", "email.to.address", "tls.server.x509.alternative_names"}
)
# Intel framework indicator types with an ECS field for the seen value (Zeek Intel::Type).
INTEL_TYPES: Mapping[str, str] = {
    "Intel::DOMAIN": "destination.domain",
    "Intel::URL": "url.original",
    "Intel::EMAIL": "email.from.address",
    "Intel::USER_NAME": "user.name",
    "Intel::FILE_NAME": "file.name",
}
# Fields that tell the log kind of a JSON record without _path, most telling first.
_PATH_HINTS = (
    ("seen.indicator", "intel"),
    ("certificate.subject", "x509"),
    ("qtype_name", "dns"),
    ("query", "dns"),
    ("mailfrom", "smtp"),
    ("server_name", "ssl"),
    ("cipher", "ssl"),
    ("uri", "http"),
    ("conn_state", "conn"),
    ("auth_success", "ssh"),
    ("fuid", "files"),
    ("note", "notice"),
    ("name", "weird"),
)


def sniff(sample: list[str]) -> bool:
    """Whether the first lines are a Zeek TSV header or Zeek JSON records."""
    for line in sample:
        if line.startswith(("#separator", "#fields", "#path")):
            return True
        if line.startswith("{") and ('"id.orig_h"' in line or '"_path"' in line):
            return '"uid"' in line or '"ts"' in line
    return False


@dataclass
class _Header:
    """What the TSV header lines have said so far."""

    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str = ""
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield one event per log record, TSV or JSON, reading header lines as they come."""
    header = _Header(path=_path_from_name(path))
    for number, text in lines:
        if not text.strip():
            continue
        if text.startswith("#"):
            _read_header(header, text)
        elif text.lstrip().startswith("{"):
            yield _json_event(text, number, path, header.path)
        else:
            yield _tsv_event(header, text, number, path)


def _read_header(header: _Header, text: str) -> None:
    """Update the header from one ``#`` line; other comments (``#open``, btest notes) pass."""
    if text.startswith("#separator"):
        separator = _unescape(text[len("#separator") :].strip(" "))
        header.separator = separator or "\t"  # a bare "#separator" keeps the writer's default
        header.fields, header.types = [], []
        return
    key, _, value = text.partition(header.separator)
    if key == "#set_separator":
        header.set_separator = value
    elif key == "#empty_field":
        header.empty = value
    elif key == "#unset_field":
        header.unset = value
    elif key == "#path":
        header.path = value
    elif key == "#fields":
        header.fields = value.split(header.separator)
    elif key == "#types":
        header.types = value.split(header.separator)


def _unescape(text: str) -> str:
    """The ``#separator`` value, given as ``\\x09`` style escapes."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _tsv_event(header: _Header, text: str, number: int, path: str) -> ParseResult:
    """One TSV record as an event, typed by the header."""
    if not header.fields:
        return Unreadable(path, number, "Zeek record before any #fields header", text[:MAX_TEXT])
    values = text.split(header.separator)
    if len(values) != len(header.fields):
        reason = f"{len(values)} values where #fields names {len(header.fields)}"
        return Unreadable(path, number, reason, text[:MAX_TEXT])

    types = header.types if len(header.types) == len(values) else ["string"] * len(values)
    record: dict[str, Any] = {}
    for name, kind, value in zip(header.fields, types, values, strict=True):
        if value in (header.unset, header.empty):
            continue
        if kind.startswith(("set[", "vector[", "table[")):
            record[name] = value.split(header.set_separator)
        else:
            record[name] = _typed(kind, value)
    return _event(record, header.path, number, path, text)


def _typed(kind: str, value: str) -> str | int | float:
    """A TSV value as the number its ``#types`` entry says it is, else the text as written."""
    try:
        if kind in ("count", "int", "port"):
            return int(value)
        if kind in ("double", "interval"):
            return float(value)
    except ValueError:
        pass
    return value


def _json_event(text: str, number: int, path: str, log_path: str) -> ParseResult:
    """One JSON record as an event; a btest masked time is read as no time."""
    stripped = text.strip()
    try:
        record = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        record = _loads_masked(stripped)
    if not isinstance(record, dict):
        return Unreadable(path, number, "not a Zeek JSON record", text[:MAX_TEXT])
    kind = record.get("_path") if isinstance(record.get("_path"), str) else None
    return _event(record, kind or _path_from_fields(record) or log_path, number, path, text)


def _loads_masked(text: str) -> object:
    """Parse a btest baseline line whose times are the bare token ``XXXXXXXXXX.XXXXXX``."""
    if MASKED_TIME not in text:
        return None
    try:
        return orjson.loads(text.replace(f":{MASKED_TIME}", ":null"))
    except orjson.JSONDecodeError:
        return None


def _path_from_fields(record: Mapping[str, Any]) -> str:
    """The log kind a JSON record's field names give away, or empty."""
    return next((kind for key, kind in _PATH_HINTS if key in record), "")


def _path_from_name(path: str) -> str:
    """The log kind in a file name (``dns.log``, ``x__http.log.json``): its last known word."""
    words = _TOKEN.findall(os.path.basename(path).lower().replace("__", "."))
    kinds = [_PATH_ALIASES.get(word, word) for word in words]
    return next((kind for kind in reversed(kinds) if kind in KNOWN_PATHS), "")


def _event(record: Mapping[str, Any], log_path: str, number: int, path: str, raw: str) -> Event:
    """Map one record's fields to ECS names; the rest go under ``zeek.<field>``."""
    fields: dict[str, FieldValue] = {}
    if log_path:
        fields["event.dataset"] = f"zeek.{log_path}"
    for name, value in record.items():
        if name in ("ts", "_path", "_write_ts"):
            continue
        ecs = ECS_FIELDS.get(name)
        if name == "subject" and log_path not in ("smtp", ""):
            ecs = None  # ssl.log's "subject" is a certificate subject, not a mail subject
        if ecs is None or not _put(fields, ecs, value):
            _put(fields, f"zeek.{name}", value)

    fields.update(_derived(record, log_path))
    return Event(_time(record.get("ts")), NAME, fields, path, number, raw)


def _put(fields: dict[str, FieldValue], name: str, value: object) -> bool:
    """Store ``value`` under ``name`` in the shape the field wants; False if it does not fit."""
    if name in INT_FIELDS:
        number = to_port(value)
        if number is None:
            return False
        fields[name] = number
    elif name in LIST_FIELDS or isinstance(value, list):
        items = value if isinstance(value, list) else [value]
        fields[name] = [str(item) for item in items if item is not None]
    elif isinstance(value, str | int | float | bool):
        fields[name] = value
    else:
        return False
    return True


def _derived(record: Mapping[str, Any], log_path: str) -> dict[str, FieldValue]:
    """Fields built from several Zeek fields: the HTTP URL, services, intel and ssh outcome."""
    fields: dict[str, FieldValue] = {}
    host, uri = _text(record.get("host")), _text(record.get("uri"))
    if host:
        fields["url.domain"] = _strip_port(host)
    if uri:
        fields["url.original"] = uri
        if "://" in uri:
            fields["url.full"] = uri
        elif host and uri.startswith("/"):
            fields["url.full"] = f"http://{host}{uri}"  # http.log is cleartext HTTP
    service = record.get("service")
    if isinstance(service, str) and service:
        fields["network.protocol"] = service.split(",")[0]
    seen = _text(record.get("seen.indicator"))
    intel = INTEL_TYPES.get(_text(record.get("seen.indicator_type")))
    if seen and intel:
        fields[intel] = seen
    fingerprint = _text(record.get("fingerprint"))
    if log_path == "x509" and len(fingerprint) in (40, 64):
        fields[f"tls.server.hash.sha{'1' if len(fingerprint) == 40 else '256'}"] = fingerprint
    if log_path == "ssh" and record.get("auth_success") in ("T", "F", True, False):
        fields["event.outcome"] = "success" if record["auth_success"] in ("T", True) else "failure"
    return fields


def _strip_port(host: str) -> str:
    """A Host header without its port (``[v6]:port`` and ``name:port``)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _time(value: object) -> datetime | None:
    """Epoch seconds (number or string) or ISO 8601 as aware UTC; masked or bad is None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    if not isinstance(value, str) or value == MASKED_TIME:
        return None
    try:
        return _from_epoch(float(value))
    except ValueError:
        return parse_time(value)


def _from_epoch(seconds: float) -> datetime | None:
    """A POSIX time as aware UTC, or None when it is out of range."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value: object) -> str:
    """A string value, or empty."""
    return value if isinstance(value, str) else ""


FORMAT = LogFormat(
    name=NAME,
    description="Zeek logs (conn, dns, http, ssl, files, smtp, x509, intel, ...), TSV or JSON",
    sniff=sniff,
    parse=parse,
    extensions=(".log",),
)
