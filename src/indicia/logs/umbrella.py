"""Cisco Umbrella DNS logs as CSV, with a header row (exports) or without one (S3 log export).

Headerless lines follow the documented S3 column order ("Log Formats and Versioning", DNS logs):
Timestamp, Most Granular Identity, Identities, Internal IP, External IP, Action, QueryType,
ResponseCode, Domain, Categories, Most Granular Identity Type, Identity Types, Blocked Categories,
then (newer versions) Rule ID, Destination Countries, Organization ID. A header row may use
other spellings ("InternalIp", "Policy Identity", "Categories/0", ...); they are folded onto
those columns.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.times import parse_any_time

NAME = "umbrella"

COLUMNS: tuple[str, ...] = (
    "timestamp",
    "most_granular_identity",
    "identities",
    "internal_ip",
    "external_ip",
    "action",
    "query_type",
    "response_code",
    "domain",
    "categories",
    "most_granular_identity_type",
    "identity_types",
    "blocked_categories",
    "rule_id",
    "destination_countries",
    "organization_id",
)
# Header spellings seen in exports, after lower-casing and dropping non-letters.
_ALIASES = {
    "policyidentity": "most_granular_identity",
    "policyidentitytype": "most_granular_identity_type",
    "querytype": "query_type",
    "responsecode": "response_code",
    "internalip": "internal_ip",
    "externalip": "external_ip",
    **{column.replace("_", ""): column for column in COLUMNS},
}
_MAPPED = frozenset(
    {"domain", "internal_ip", "external_ip", "action", "timestamp", "response_code"}
)
_LIST_COLUMNS = frozenset({"identities", "categories", "identity_types", "blocked_categories"})
_QUERY_TYPE = re.compile(r"\d+ \((\w+)\)")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _column_name(header: str) -> str:
    """Fold a header cell onto a documented column; ``Categories/1`` folds onto ``categories``."""
    base = header.split("/", 1)[0]
    key = re.sub(r"[^a-z]", "", base.lower())
    return _ALIASES.get(key, f"umbrella.{header}")


def _record(columns: Sequence[str], row: Sequence[str]) -> dict[str, list[str]]:
    """Column name to its non-empty cell values (list columns may span several cells)."""
    record: dict[str, list[str]] = {}
    for name, cell in zip(columns, row, strict=False):
        cell = cell.strip()
        if not cell:
            continue
        values = record.setdefault(name, [])
        if name in _LIST_COLUMNS:
            values.extend(part.strip() for part in cell.split(",") if part.strip())
        else:
            values.append(cell)
    return record


def _fields(record: dict[str, list[str]]) -> dict[str, FieldValue]:
    """Map one record to ECS: the query name without its root dot, client IPs, verdict."""
    first = {name: values[0] for name, values in record.items()}
    fields: dict[str, FieldValue] = {}
    if "domain" in first:
        fields["dns.question.name"] = first["domain"].rstrip(".")
    if "internal_ip" in first:
        fields["source.ip"] = first["internal_ip"]
    if "external_ip" in first:
        fields["source.nat.ip"] = first["external_ip"]
    if "action" in first:
        fields["event.action"] = first["action"].lower()
    if "query_type" in first:
        qtype = _QUERY_TYPE.fullmatch(first["query_type"])
        fields["dns.question.type"] = qtype.group(1) if qtype else first["query_type"]
    if "response_code" in first:
        fields["dns.response_code"] = first["response_code"]
    for name, values in record.items():
        if name in _LIST_COLUMNS:
            fields[f"umbrella.{name}"] = values
        elif name not in _MAPPED:
            fields[name if name.startswith("umbrella.") else f"umbrella.{name}"] = values[0]
    fields.update({"observer.vendor": "Cisco", "observer.product": "Umbrella"})
    return fields


def _is_header(row: Sequence[str]) -> bool:
    return bool(row) and row[0].strip().lower() == "timestamp"


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield an event per DNS log row; a header row, when present, names the columns."""
    columns: Sequence[str] = COLUMNS
    for number, line in lines:
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line]))
        except csv.Error as exc:
            yield Unreadable(path, number, f"bad CSV: {exc}", line[:1000])
            continue
        if _is_header(row):
            columns = [_column_name(cell) for cell in row]
            continue
        yield _row_event(columns, row, path, number, line)


def _row_event(
    columns: Sequence[str], row: Sequence[str], path: str, number: int, line: str
) -> ParseResult:
    record = _record(columns, row)
    stamp = record.get("timestamp", [""])[0]
    if not _TIMESTAMP.match(stamp) or "domain" not in record:
        return Unreadable(path, number, "not an Umbrella DNS log row", line[:1000])
    return Event(parse_any_time(stamp), NAME, _fields(record), path, number, line)


def sniff(sample: list[str]) -> bool:
    """An Umbrella header row, or rows whose 6th/7th cells are a verdict and ``n (TYPE)``."""
    first = sample[0].lower()
    if first.startswith("timestamp,") and ("internalip" in first or "internal ip" in first):
        return True
    try:
        row = next(csv.reader([sample[0]]))
    except csv.Error:
        return False
    return (
        len(row) >= 9
        and _TIMESTAMP.match(row[0]) is not None
        and row[5] in ("Allowed", "Blocked")
        and _QUERY_TYPE.fullmatch(row[6]) is not None
    )


FORMAT = LogFormat(
    name=NAME,
    description="Cisco Umbrella DNS logs (CSV, with or without header)",
    sniff=sniff,
    parse=parse,
)
