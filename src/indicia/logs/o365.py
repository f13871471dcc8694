"""Microsoft 365 unified audit log records, as JSON and as the two common CSV exports.

JSON: Management Activity API records (``CreationTime``, ``UserId``, ``Operation``,
``Workload``, ``ClientIP``, ...; "Office 365 Management Activity API schema"), one per line or
in an array. CSV: the Purview audit search export (``CreationDate``, ``UserIds``,
``Operations``, ``AuditData`` holding the record as a JSON string) and Sentinel's OfficeActivity
export (``TimeGenerated [UTC]``, ``ClientIP``, ``UserId``, ``Operation``, ``OfficeWorkload``, ...).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.json_records import (
    MAX_TEXT,
    JsonRecord,
    iter_json_records,
    leftovers,
    parse_time,
    split_host_port,
    text_of,
)

NAME = "o365"
SOURCE = "o365"
OBSERVER = {"observer.vendor": "Microsoft", "observer.product": "Microsoft 365"}

# Sentinel OfficeActivity column names for the Management API ones (Azure Monitor reference).
SENTINEL_COLUMNS: Mapping[str, str] = {
    "TimeGenerated [UTC]": "TimeGenerated",
    "OfficeWorkload": "Workload",
    "OfficeObjectId": "ObjectId",
    "Site_Url": "SiteUrl",
    "Client_IPAddress": "ClientIPAddress",
}
_CLIENT_IP_KEYS = ("ClientIP", "ClientIPAddress", "ClientIp", "ActorIpAddress")
_SENDER_KEYS = ("Sender", "SenderAddress", "From", "P1Sender", "MailFrom")
_RECIPIENT_KEYS = ("Recipients", "RecipientAddress", "To", "RecipientAddresses")
_USED = frozenset(
    {
        "CreationTime",
        "TimeGenerated",
        "UserId",
        "Operation",
        "ResultStatus",
        "ObjectId",
        "SiteUrl",
        "SourceFileName",
        "UserAgent",
        "Subject",
        "Id",
        "Workload",
        "MailboxOwnerUPN",
        *_CLIENT_IP_KEYS[:-1],  # ActorIpAddress stays as o365.ActorIpAddress: it may differ
        *_SENDER_KEYS,
        *_RECIPIENT_KEYS,
    }
)
_OUTCOMES = {"succeeded": "success", "success": "success", "failed": "failure"}
_CSV_MARKERS = ("AuditData", "OfficeWorkload", "CreationDate")


def sniff(sample: list[str]) -> bool:
    """Whether the first lines are audit records as JSON or one of the CSV exports."""
    first = sample[0].lstrip("\ufeff").lstrip() if sample else ""
    if first.startswith(("{", "[")):
        text = "\n".join(sample)
        management_api = '"Workload"' in text and '"CreationTime"' in text
        office_activity = '"OfficeWorkload"' in text and '"TimeGenerated"' in text
        return '"Operation"' in text and (management_api or office_activity)
    return any(marker in first for marker in _CSV_MARKERS) and "," in first


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield one event per audit record, reading JSON or CSV as the first line shows."""
    pending = iter(lines)
    for number, text in pending:
        if not text.strip():
            continue
        first = [(number, text)]
        rest = _chain(first, pending)
        if text.lstrip("\ufeff").lstrip().startswith(("{", "[")):
            yield from _parse_json(rest, path)
        else:
            yield from _parse_csv(rest, path)
        return


def _chain(first: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> Lines:
    """The first line again, then the rest."""
    yield from first
    yield from rest


def _parse_json(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Audit records given as JSON lines or documents."""
    for item in iter_json_records(lines, path):
        if isinstance(item, Unreadable):
            yield item
        else:
            record = {SENTINEL_COLUMNS.get(key, key): v for key, v in item.value.items()}
            yield _event(record, item, path)


def _parse_csv(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Audit records in a CSV export; its header row names the columns."""
    source = _CsvLines(lines)
    reader = csv.reader(source)
    header = _header(reader)
    if header is None:
        return
    if not any(marker in header for marker in (*_CSV_MARKERS, "Operation", "UserId")):
        reason = "CSV header names no audit column"
        yield Unreadable(path, source.start, reason, source.text[:MAX_TEXT])
        yield from _rest_unreadable(source, path)
        return

    while True:
        source.lines = []  # the reader asks for exactly the lines of its next row
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row = None
        yield from _row_results(header, row, list(source.lines), path)


def _row_results(
    header: list[str], row: list[str] | None, lines: list[tuple[int, str]], path: str
) -> Iterator[ParseResult]:
    """The result of one CSV row; a broken row over several lines is re-read line by line."""
    start, text = lines[0][0], "\n".join(line for _, line in lines)
    if row is None:
        result: ParseResult = Unreadable(path, start, "CSV row not readable", text[:MAX_TEXT])
    elif not row:
        return
    else:
        result = _csv_event(header, row, start, text, path)
    if isinstance(result, Event) or len(lines) == 1:
        yield result
        return

    # A quote left open swallows the lines after it; report the row's first line and read
    # each swallowed line as a row of its own, so none of them is lost silently.
    yield Unreadable(
        path, start, f"{result.reason} (a quoted field ran on)", lines[0][1][:MAX_TEXT]
    )
    for number, line in lines[1:]:
        yield from _row_results(header, _single_row(line), [(number, line)], path)


def _single_row(text: str) -> list[str] | None:
    """One line read as a CSV row on its own, or None when it is not one."""
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return None


def _header(reader: Iterator[list[str]]) -> list[str] | None:
    """The header row, without a byte order mark and with column names stripped."""
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return None
    return [name.lstrip("\ufeff").strip() for name in header]


def _rest_unreadable(source: _CsvLines, path: str) -> Iterator[Unreadable]:
    """Report every remaining line of an input that cannot be read as audit CSV."""
    for number, text in source.remaining():
        if text.strip():
            yield Unreadable(path, number, "no audit CSV header", text[:MAX_TEXT])


class _CsvLines:
    """Feeds text lines to ``csv.reader`` and keeps the lines of the row being read."""

    def __init__(self, lines: Lines) -> None:
        self._lines = iter(lines)
        self.lines: list[tuple[int, str]] = []

    @property
    def start(self) -> int:
        return self.lines[0][0] if self.lines else 0

    @property
    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def remaining(self) -> Lines:
        """The lines the reader has not asked for yet."""
        return self._lines

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        number, text = next(self._lines)
        self.lines.append((number, text))
        # With its line end, so a quoted field that holds a line break keeps it (RFC 4180 2.6).
        return text + "\n"


def _csv_event(header: list[str], row: list[str], start: int, text: str, path: str) -> ParseResult:
    """One CSV row as an event: its AuditData JSON when present, the columns otherwise."""
    if len(row) != len(header):
        reason = f"row has {len(row)} fields, the header {len(header)}"
        return Unreadable(path, start, reason, text[:MAX_TEXT])
    names = [SENTINEL_COLUMNS.get(name, name) for name in header]
    columns = dict(zip(names, row, strict=True))
    record: dict[str, Any] = {k: v for k, v in columns.items() if v != "" and k != "AuditData"}
    audit = columns.get("AuditData", "")
    if audit:
        try:
            data = orjson.loads(audit)
        except orjson.JSONDecodeError:
            return Unreadable(path, start, "AuditData is not valid JSON", text[:MAX_TEXT])
        if not isinstance(data, dict):
            return Unreadable(path, start, "AuditData is not a JSON object", text[:MAX_TEXT])
        record = _merge_export_columns(data, record)
    return _event(record, JsonRecord(start, None, record, text), path)


def _merge_export_columns(data: dict[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """AuditData, with the export's own columns filling what the JSON lacks."""
    merged = dict(data)
    merged.setdefault("Operation", columns.get("Operations") or columns.get("Operation"))
    merged.setdefault("UserId", columns.get("UserIds") or columns.get("UserId"))
    if "CreationTime" not in merged and columns.get("CreationDate"):
        merged["CreationTime"] = columns["CreationDate"]
    return {k: v for k, v in merged.items() if v is not None}


def _event(record: Mapping[str, Any], origin: JsonRecord, path: str) -> ParseResult:
    """One audit record (a Management API object) as an event."""
    if not any(key in record for key in ("Operation", "Operations", "Workload", "RecordType")):
        return Unreadable(
            path, origin.line, "not a Microsoft 365 audit record", origin.text[:MAX_TEXT]
        )

    fields: dict[str, FieldValue] = dict(OBSERVER)
    fields.update(_identity_fields(record))
    fields.update(_client_fields(record))
    fields.update(_object_fields(record))
    fields.update(_mail_fields(record))
    fields.update(leftovers(record, NAME, skip=_USED))
    if origin.index is not None:
        fields[f"{NAME}.record_index"] = origin.index

    time = _time(record.get("CreationTime") or record.get("TimeGenerated"))
    return Event(time, SOURCE, fields, path, origin.line, origin.text)


def _time(value: object) -> datetime | None:
    """ISO 8601 (naive is UTC), or the export's US ``M/D/YYYY h:mm:ss AM`` form, as UTC."""
    parsed = parse_time(value)
    if parsed is not None or not isinstance(value, str):
        return parsed
    for layout in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y, %I:%M:%S.%f %p"):
        try:
            return datetime.strptime(value.strip(), layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _identity_fields(record: Mapping[str, Any]) -> dict[str, FieldValue]:
    """User, operation, outcome, workload and record id."""
    fields: dict[str, FieldValue] = {}
    user = text_of(record.get("UserId")) or text_of(record.get("MailboxOwnerUPN"))
    if user:
        fields["user.name"] = user
    operation = text_of(record.get("Operation"))
    if operation:
        fields["event.action"] = operation.lower()
    status = text_of(record.get("ResultStatus"))
    if status:
        fields["event.outcome"] = _OUTCOMES.get(status.lower(), status.lower())
    workload = text_of(record.get("Workload"))
    if workload:
        fields["event.provider"] = workload
    record_id = text_of(record.get("Id"))
    if record_id:
        fields["event.id"] = record_id
    return fields


def _client_fields(record: Mapping[str, Any]) -> dict[str, FieldValue]:
    """The client address (port split off, brackets removed) and the user agent."""
    fields: dict[str, FieldValue] = {}
    for key in _CLIENT_IP_KEYS:
        address = text_of(record.get(key))
        if address:
            host, port = split_host_port(address)
            fields["source.ip"] = fields["client.ip"] = host
            if port is not None:
                fields["source.port"] = port
            break
    agent = text_of(record.get("UserAgent")) or _extended(record, "UserAgent")
    if agent:
        fields["user_agent.original"] = agent
    return fields


def _extended(record: Mapping[str, Any], name: str) -> str:
    """A value from ``ExtendedProperties`` (a list of Name/Value pairs), or empty."""
    properties = record.get("ExtendedProperties")
    if not isinstance(properties, list):
        return ""
    for item in properties:
        if isinstance(item, dict) and item.get("Name") == name:
            return text_of(item.get("Value"))
    return ""


def _object_fields(record: Mapping[str, Any]) -> dict[str, FieldValue]:
    """The object acted on: a URL (ObjectId, else SiteUrl) and the file name."""
    fields: dict[str, FieldValue] = {}
    for key in ("ObjectId", "SiteUrl"):
        value = text_of(record.get(key))
        if value.lower().startswith(("http://", "https://")):
            fields["url.full"] = value
            host = value.split("://", 1)[1].split("/", 1)[0]
            fields["url.domain"] = split_host_port(host)[0]
            break
    for key in ("ObjectId", "SiteUrl"):
        value = text_of(record.get(key))
        if value:
            fields[f"{NAME}.{key}"] = value
    name = text_of(record.get("SourceFileName"))
    if name:
        fields["file.name"] = name
    return fields


def _mail_fields(record: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Sender, recipients and subject, from the record or its Exchange ``Item``."""
    fields: dict[str, FieldValue] = {}
    item = record.get("Item")
    sources = [record, item] if isinstance(item, dict) else [record]
    for source in sources:
        sender = next((text_of(source.get(k)) for k in _SENDER_KEYS if text_of(source.get(k))), "")
        if sender and "email.from.address" not in fields:
            fields["email.from.address"] = sender
        recipients = next((_addresses(source.get(k)) for k in _RECIPIENT_KEYS if source.get(k)), [])
        if recipients and "email.to.address" not in fields:
            fields["email.to.address"] = recipients
        subject = text_of(source.get("Subject"))
        if subject and "email.subject" not in fields:
            fields["email.subject"] = subject
    return fields


def _addresses(value: object) -> list[str]:
    """Recipient addresses from a list or a ``;`` / ``,`` separated string."""
    if isinstance(value, list):
        return [text for item in value if (text := text_of(item))]
    text = text_of(value)
    return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]


FORMAT = LogFormat(
    name=NAME,
    description="Microsoft 365 unified audit log (Management API JSON, Purview and Sentinel CSV)",
    sniff=sniff,
    parse=parse,
    extensions=(".json", ".csv"),
)
