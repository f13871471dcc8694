"""Microsoft Sentinel's CommonSecurityLog table exported as CSV (one header row, then records).

Column names are those of the Azure Monitor table reference "CommonSecurityLog" (TimeGenerated,
DeviceVendor, SourceIP, DestinationHostName, RequestURL, FileHash, ...); portal exports append
`` [UTC]`` to time columns. The columns carry CEF fields, so the mapping follows the CEF one:
custom string/number columns go under ``commonsecuritylog.<their label>``. A quoted cell may hold
line breaks, so a record can span several lines.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.cef import ECS_KEYS, HASH_BY_LENGTH, INT_FIELDS, url_host
from indicia.logs.times import parse_any_time

NAME = "commonsecuritylog"
PREFIX = "commonsecuritylog"

COLUMN_ECS: Mapping[str, str] = {
    "DeviceVendor": "observer.vendor",
    "DeviceProduct": "observer.product",
    "DeviceVersion": "observer.version",
    "DeviceEventClassID": "rule.id",
    "Activity": "rule.name",
    "DeviceAction": "event.action",
    "EventOutcome": "event.outcome",
    "Reason": "event.reason",
    "SourceIP": "source.ip",
    "DestinationIP": "destination.ip",
    "SourcePort": "source.port",
    "DestinationPort": "destination.port",
    "SourceHostName": "source.domain",
    "DestinationHostName": "destination.domain",
    "SourceMACAddress": "source.mac",
    "DestinationMACAddress": "destination.mac",
    "SourceUserName": "source.user.name",
    "DestinationUserName": "destination.user.name",
    "SourceTranslatedAddress": "source.nat.ip",
    "SourceTranslatedPort": "source.nat.port",
    "DestinationTranslatedAddress": "destination.nat.ip",
    "DestinationTranslatedPort": "destination.nat.port",
    "RequestMethod": "http.request.method",
    "RequestClientApplication": "user_agent.original",
    "RequestContext": "http.request.referrer",
    "ApplicationProtocol": "network.protocol",
    "Protocol": "network.transport",
    "FileName": "file.name",
    "FilePath": "file.path",
    "FileType": "file.type",
    "Message": "message",
    "DeviceName": "observer.hostname",
    "DeviceAddress": "observer.ip",
    "DeviceExternalID": "observer.serial_number",
    "ExternalID": "event.id",
    "Computer": "host.name",
    "SentBytes": "source.bytes",
    "ReceivedBytes": "destination.bytes",
    "EventCount": "event.count",
    "ProcessName": "process.name",
    "DeviceInboundInterface": "observer.ingress.interface.name",
    "DeviceOutboundInterface": "observer.egress.interface.name",
}
_TIME_COLUMNS = ("TimeGenerated", "ReceiptTime", "EndTime", "StartTime")
_LABELLED_PREFIXES = (
    "DeviceCustomString",
    "DeviceCustomNumber",
    "DeviceCustomFloatingPoint",
    "DeviceCustomIPv6Address",
    "DeviceCustomDate",
    "FlexString",
    "FlexNumber",
    "FlexDate",
)
MAX_RECORD_LINES = 200  # physical lines one quoted record may span
_REQUIRED = frozenset({"DeviceVendor", "DeviceProduct"})


def _column(header: str) -> str:
    """``TimeGenerated [UTC]`` and ``TimeGenerated`` name the same column."""
    return header.split(" [", 1)[0].strip()


def _put(fields: dict[str, FieldValue], name: str, value: str) -> None:
    if name in INT_FIELDS:
        if value.isdecimal():
            fields[name] = int(value)
        else:
            fields[f"{PREFIX}.{name}"] = value
        return
    fields[name] = value.lower() if name == "event.action" else value


def _url_fields(value: str, fields: dict[str, FieldValue]) -> None:
    fields["url.original"] = value
    if "://" in value:
        fields["url.full"] = value
        host = url_host(value)
        if host:
            fields["url.domain"] = host


def _additional(value: str, fields: dict[str, FieldValue]) -> None:
    """AdditionalExtensions: the CEF pairs without a column, joined by ``;``."""
    for pair in value.split(";"):
        key, sep, item = pair.partition("=")
        if sep and key and item:
            ecs = ECS_KEYS.get(key.strip())
            if ecs and ecs not in fields:
                _put(fields, ecs, item)
            else:
                fields[f"{PREFIX}.ext.{key.strip()}"] = item


def _fields(record: Mapping[str, str]) -> dict[str, FieldValue]:
    """Map one record's non-empty columns to ECS, the rest to ``commonsecuritylog.<column>``."""
    fields: dict[str, FieldValue] = {}
    for column, value in record.items():
        value = value.replace("\\=", "=")  # CEF escapes sometimes survive ingestion
        ecs = COLUMN_ECS.get(column)
        if ecs is not None:
            _put(fields, ecs, value)
        elif column == "RequestURL":
            _url_fields(value, fields)
        elif column == "FileHash":
            fields[HASH_BY_LENGTH.get(len(value), "file.hash.unknown")] = value
        elif column == "AdditionalExtensions":
            _additional(value, fields)
        elif column.startswith(_LABELLED_PREFIXES) and not column.endswith("Label"):
            label = record.get(column + "Label") or column
            fields[f"{PREFIX}.{label}"] = value
        elif not column.endswith("Label") or not column.startswith(_LABELLED_PREFIXES):
            fields[f"{PREFIX}.{column}"] = value
    return fields


def _timestamp(record: Mapping[str, str], fields: Mapping[str, FieldValue]) -> datetime | None:
    """TimeGenerated, else ReceiptTime/EndTime/StartTime, else the CEF ``end``/``start``."""
    for column in _TIME_COLUMNS:
        if record.get(column):
            return parse_any_time(record[column])
    for key in ("end", "start", "rt"):
        value = fields.get(f"{PREFIX}.ext.{key}")
        if isinstance(value, str):
            return parse_any_time(value)
    return None


def _records(lines: Lines) -> Iterator[tuple[int, str]]:
    """Join physical lines into CSV records: a record ends where its quotes are balanced."""
    start, parts, quotes = 0, list[str](), 0
    for number, line in lines:
        if not parts:
            if not line.strip():
                continue
            start = number
        parts.append(line)
        quotes += line.count('"')
        # An unbalanced quote would otherwise swallow the rest of the file into one record.
        if quotes % 2 == 0 or len(parts) >= MAX_RECORD_LINES:
            yield start, "\n".join(parts)
            parts, quotes = [], 0
    if parts:
        yield start, "\n".join(parts)


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield an event per CSV record after the header; a record of the wrong width is Unreadable."""
    header: list[str] | None = None
    for number, text in _records(lines):
        try:
            row = next(csv.reader([text]))
        except csv.Error as exc:
            yield Unreadable(path, number, f"bad CSV: {exc}", text[:1000])
            continue
        if header is None:
            header = [_column(cell) for cell in row]
            if not set(header) >= _REQUIRED:
                yield Unreadable(path, number, "no CommonSecurityLog header row", text[:1000])
                header = None
            continue
        yield _row_event(header, row, path, number, text)


def _row_event(
    header: Sequence[str], row: Sequence[str], path: str, number: int, text: str
) -> ParseResult:
    if len(row) != len(header):
        reason = f"record has {len(row)} cells, the header {len(header)}"
        return Unreadable(path, number, reason, text[:1000])
    record = {column: cell for column, cell in zip(header, row, strict=True) if cell}
    fields = _fields(record)
    return Event(_timestamp(record, fields), NAME, fields, path, number, text)


def sniff(sample: list[str]) -> bool:
    """A CSV header naming the CommonSecurityLog columns DeviceVendor and DeviceProduct."""
    head = sample[0]
    return "," in head and "DeviceVendor" in head and "DeviceProduct" in head


FORMAT = LogFormat(
    name=NAME,
    description="Microsoft Sentinel CommonSecurityLog table exported as CSV",
    sniff=sniff,
    parse=parse,
    extensions=(".csv",),
)
