"""Azure Firewall diagnostic logs: the legacy ``msg`` text rows and the structured AZFW* tables.

Legacy rows (categories AzureFirewallNetworkRule, AzureFirewallApplicationRule and
AzureFirewallDnsProxy; Log Analytics column ``msg_s``) carry one sentence such as ``TCP request
from 10.0.0.4:49930 to 203.0.113.5:443. Action: Deny. Rule Collection: c. Rule: r``. The
resource-specific tables (AZFWNetworkRule, AZFWApplicationRule, AZFWNatRule, AZFWThreatIntel,
AZFWIdpsSignature, AZFWDnsQuery, ...) carry named columns (Azure Monitor table reference). Input
is JSON lines, a ``{"records": [...]}`` document per line, or one pretty-printed document.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable

NAME = "azure_firewall"
SOURCE = "azure-firewall"
OBSERVER = {
    "observer.vendor": "Microsoft",
    "observer.product": "Azure Firewall",
    "observer.type": "firewall",
}

# "<PROTO> request from <src> to <dst>" then ". " or " was DNAT'ed to <nat>" (legacy msg text).
_HEAD = re.compile(
    r"^(?P<proto>.+?) request from (?P<src>\S*) to (?P<dst>\S+?)"
    r"(?: was DNAT'ed to (?P<nat>\S+?))?(?:\.+(?=\s|$)|$)"
)
# The "Key: value" parts after the head; longer keys first so "Rule Collection" is not "Rule".
_PART_KEYS = (
    "Rule Collection Group",
    "Rule Collection",
    "Rule",
    "Policy",
    "Action",
    "Signature",
    "IDS",
    "Priority",
    "Classification",
    "ThreatIntel",
    "Url",
    "Web Category",
    "Reason",
)
_PART = re.compile(r"(?:^|(?<=\.)\s+)(" + "|".join(re.escape(k) for k in _PART_KEYS) + r"): ")
_ICMP_TYPE = re.compile(r"^ICMP Type=(\d+)$")
# "DNS Request: <client> - <id> <type> <class> <name> <transport> <size> <DO> <bufsize> <rcode>
# <flags> <response size> <duration>" (Azure Firewall DNS proxy log, legacy category).
_DNS = re.compile(
    r"^DNS Request: (?P<client>\S+) [-\u2013] (?P<id>\d+) (?P<qtype>\S+) (?P<qclass>\S+) "
    r"(?P<name>\S+) (?P<transport>[A-Za-z]+) \d+ \S+ \d+ (?P<rcode>[A-Z]+)\b"
)

# Structured-table columns with an ECS home (Azure Monitor reference, AZFW* tables).
ECS_COLUMNS: Mapping[str, str] = {
    "SourceIp": "source.ip",
    "SourcePort": "source.port",
    "DestinationIp": "destination.ip",
    "DestinationPort": "destination.port",
    "TranslatedIp": "destination.nat.ip",
    "TranslatedPort": "destination.nat.port",
    "Fqdn": "destination.domain",
    "TargetUrl": "url.full",
    "Rule": "rule.name",
    "SignatureId": "rule.id",
    "Description": "rule.name",
    "Category": "rule.category",
    "QueryName": "dns.question.name",
    "QueryType": "dns.question.type",
    "ResponseCode": "dns.response_code",
    "Severity": "event.severity",
}
_SKIPPED = frozenset(
    {"TimeGenerated", "time", "Type", "category", "operationName", "resourceId", "properties"}
    | {"Category", "OperationName", "ResourceId", "Resource", "TenantId", "SourceSystem"}
)


def sniff(sample: list[str]) -> bool:
    """Whether the first lines look like Azure Firewall diagnostic JSON."""
    text = "\n".join(sample)
    return text.lstrip().startswith(("{", "[")) and ("AzureFirewall" in text or '"AZFW' in text)


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield one event per firewall record; a record of another kind is unreadable."""
    for item in iter_json_records(lines, path):
        if isinstance(item, Unreadable):
            yield item
        else:
            yield _record_event(item, path)


def _record_event(record: JsonRecord, path: str) -> ParseResult:
    """One firewall record as an event, from its msg text or its structured columns."""
    body = record_body(record.value)
    table = _table(record.value)
    msg = body.get("msg") if "msg" in body else body.get("msg_s")

    if isinstance(msg, str):
        fields = _msg_fields(msg)
    elif table.startswith("AZFW"):
        fields = _column_fields(body)
    else:
        return Unreadable(path, record.line, "not an Azure Firewall record", record.text[:MAX_TEXT])
    if fields is None:
        reason = "Azure Firewall msg text not understood"
        return Unreadable(path, record.line, reason, record.text[:MAX_TEXT])

    fields.update(_common_fields(record, table))
    time = parse_time(record.value.get("time") or record.value.get("TimeGenerated"))
    return Event(time, SOURCE, fields, path, record.line, record.text)


def _table(value: Mapping[str, Any]) -> str:
    """The log category (diagnostic form) or table name (Log Analytics form) of a record."""
    for key in ("category", "Category", "Type"):
        name = value.get(key)
        if isinstance(name, str):
            return name
    return ""


def _common_fields(record: JsonRecord, table: str) -> dict[str, FieldValue]:
    """Observer, category and position fields every firewall event carries."""
    fields: dict[str, FieldValue] = dict(OBSERVER)
    if table:
        fields[f"{NAME}.category"] = table
    name = observer_name(record.value)
    if name:
        fields["observer.name"] = name
    if record.index is not None:
        fields[f"{NAME}.record_index"] = record.index
    return fields


def observer_name(value: Mapping[str, Any]) -> str:
    """The Azure resource's name: ``Resource``, else the last part of its resource id."""
    if isinstance(value.get("Resource"), str) and value["Resource"]:
        return str(value["Resource"])
    for key in ("resourceId", "ResourceId", "_ResourceId"):
        resource = value.get(key)
        if isinstance(resource, str) and "/" in resource:
            return resource.rstrip("/").rsplit("/", 1)[-1]
    return ""


def _msg_fields(msg: str) -> dict[str, FieldValue] | None:
    """Fields of a legacy ``msg`` sentence, or None when its head is not the known shape."""
    head = _HEAD.match(msg)
    if head is None:
        return _dns_fields(msg)

    fields: dict[str, FieldValue] = {"message": msg}
    _add_protocol(fields, head["proto"])
    _add_endpoint(fields, "source", head["src"])
    _add_endpoint(fields, "destination", head["dst"])
    if head["nat"]:
        _add_endpoint(fields, "destination.nat", head["nat"])
        fields["event.action"] = "dnat"

    _add_parts(fields, _parts(msg[head.end() :].lstrip()))
    return fields


def _dns_fields(msg: str) -> dict[str, FieldValue] | None:
    """Fields of a DNS proxy msg (category AzureFirewallDnsProxy), or None if it is not one."""
    dns = _DNS.match(msg)
    if dns is None:
        return None

    fields: dict[str, FieldValue] = {"message": msg, "network.protocol": "dns"}
    _add_endpoint(fields, "source", dns["client"])
    fields["network.transport"] = dns["transport"].lower()
    fields["dns.id"] = dns["id"]
    fields["dns.question.type"] = dns["qtype"]
    fields["dns.question.class"] = dns["qclass"]
    fields["dns.question.name"] = dns["name"]
    fields["dns.response_code"] = dns["rcode"]
    return fields


def _add_protocol(fields: dict[str, FieldValue], proto: str) -> None:
    """Transport (and application protocol for HTTP/HTTPS) from the msg's first word."""
    icmp = _ICMP_TYPE.match(proto)
    if icmp:
        fields["network.transport"] = "icmp"
        fields["icmp.type"] = int(icmp.group(1))
    elif proto.upper() in {"HTTP", "HTTPS"}:
        fields["network.transport"] = "tcp"
        fields["network.protocol"] = proto.lower()
    else:
        fields["network.transport"] = proto.lower()


def _add_endpoint(fields: dict[str, FieldValue], prefix: str, text: str) -> None:
    """``<prefix>.ip`` or ``.domain`` and ``.port`` from ``host[:port]`` (an empty port is none)."""
    host, port = split_host_port(text)
    if not host:
        return
    is_ip = _looks_like_ip(host)
    if prefix == "destination.nat" or is_ip:
        fields[f"{prefix}.ip"] = host
    else:
        fields[f"{prefix}.domain"] = host
    if port is not None:
        fields[f"{prefix}.port"] = port


def _looks_like_ip(host: str) -> bool:
    """Whether ``host`` is an IP literal rather than a name (the matcher validates it)."""
    return ":" in host or host.replace(".", "").isdigit()


def _parts(rest: str) -> dict[str, str]:
    """The ``Key: value`` parts of the msg tail, values without their closing dots."""
    found = list(_PART.finditer(rest))
    parts: dict[str, str] = {}
    ends = [match.start() for match in found[1:]] + [len(rest)]
    for current, end in zip(found, ends, strict=False):
        parts[current.group(1)] = rest[current.end() : end].strip().rstrip(".").strip()
    return parts


def _add_parts(fields: dict[str, FieldValue], parts: Mapping[str, str]) -> None:
    """Map the msg parts: action, rule names, IDPS signature, threat intel and URL."""
    if "Action" in parts:
        # "Action: Deny. No rule matched. Proceeding with default action": the word, then why.
        action, _, reason = parts["Action"].partition(". ")
        fields["event.action"] = action.strip(". ").lower()
        if reason:
            fields[f"{NAME}.action_reason"] = reason.strip()
    if "Rule" in parts:
        fields["rule.name"] = parts["Rule"]
    if "Signature" in parts:
        fields["rule.id"] = parts["Signature"]
    if "IDS" in parts:
        fields["rule.name"] = parts["IDS"]
    if "Classification" in parts:
        fields["rule.category"] = parts["Classification"]
    if "Url" in parts:
        _add_url(fields, parts["Url"])
    for key in ("Rule Collection Group", "Rule Collection", "Policy", "Priority", "ThreatIntel"):
        if key in parts:
            fields[f"{NAME}.{key.lower().replace(' ', '_')}"] = parts[key]
    for key in ("Web Category", "Reason"):
        if key in parts:
            fields[f"{NAME}.{key.lower().replace(' ', '_')}"] = parts[key]


def _add_url(fields: dict[str, FieldValue], url: str) -> None:
    """``url.original`` as logged and ``url.full`` with the scheme the protocol word gives."""
    fields["url.original"] = url
    scheme = fields.get("network.protocol")
    if "://" in url:
        fields["url.full"] = url
    elif isinstance(scheme, str):
        fields["url.full"] = f"{scheme}://{url}"
    host = url.split("://", 1)[-1].split("/", 1)[0]
    if host:
        fields["url.domain"] = split_host_port(host)[0]


def _column_fields(body: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Fields of a structured AZFW* record from its named columns."""
    fields: dict[str, FieldValue] = {}
    for column, ecs in ECS_COLUMNS.items():
        value = body.get(column)
        if value is None or value == "":
            continue
        if ecs.endswith(".port") or ecs == "event.severity":
            port = to_port(value)
            if port is not None:
                fields[ecs] = port
        elif isinstance(value, str | int):
            fields.setdefault(ecs, str(value))

    _add_column_protocol(fields, body.get("Protocol"))
    action = body.get("Action")
    if isinstance(action, str) and action:
        fields["event.action"] = action.lower()
    fields.update(leftovers(body, NAME, skip=_SKIPPED | set(ECS_COLUMNS) | {"Protocol", "Action"}))
    return fields


def _add_column_protocol(fields: dict[str, FieldValue], protocol: object) -> None:
    """Protocol column: a transport (TCP, UDP) or, in application rules, HTTP/HTTPS."""
    if not isinstance(protocol, str) or not protocol:
        return
    _add_protocol(fields, protocol.split(":", 1)[0])


# Azure diagnostic JSON, shared by the Azure and Microsoft 365 parsers. Azure writes one record
# per line (storage), a {"records": [...]} document per message (Event Hubs), and tools export
# pretty-printed documents; all three come out as records with a meaningful line.
MAX_DOCUMENT_LINES = 1_000_000
MAX_DOCUMENT_CHARS = 256 * 1024 * 1024
MAX_TEXT = 2000  # characters of an unreadable line kept in the report
_STRUCTURAL = re.compile(r'[\\"{}\[\]]')


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One JSON object from an input: its line, its index inside a document (or None), its text."""

    line: int
    index: int | None
    value: dict[str, Any]
    text: str


def iter_json_records(lines: Lines, path: str) -> Iterator[JsonRecord | Unreadable]:
    """Every JSON object in ``lines``: JSON lines, records documents, arrays, pretty documents."""
    return _iter_records(iter(lines), path, documents=True)


def _iter_records(
    pending: Iterator[tuple[int, str]], path: str, *, documents: bool
) -> Iterator[JsonRecord | Unreadable]:
    """Records line by line, collecting multi-line documents only when ``documents`` is set."""
    for number, text in pending:
        stripped = text.strip()
        if not stripped:
            continue
        value = _loads(stripped)
        if value is not _INVALID:
            yield from _records(value, number, [number], stripped, path)
        elif documents and _opens_document(stripped):
            yield from _read_document(number, stripped, pending, path)
        else:
            yield Unreadable(path, number, "not valid JSON", text[:MAX_TEXT])


_INVALID = object()


def _loads(text: str) -> object:
    """The parsed JSON value of ``text``, or the ``_INVALID`` marker."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _INVALID


def _opens_document(text: str) -> bool:
    """Whether a line that is not JSON by itself starts a pretty-printed document."""
    if not text.startswith(("{", "[")):
        return False
    scan = _DepthScan()
    scan.feed(text, 0)
    # A truncated record ends inside a string or mid-value; a document's first line ends at a
    # structural character, so a cut line never swallows the lines after it.
    return scan.depth > 0 and not scan.in_string and text.endswith(("{", "[", ",", ":"))


class _DepthScan:
    """Tracks JSON nesting over lines, and the lines where objects open at depth 1 and 2."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.opens: dict[int, list[int]] = {1: [], 2: []}

    def feed(self, text: str, number: int) -> None:
        escaped = -1
        for match in _STRUCTURAL.finditer(text):
            at, char = match.start(), match.group()
            if at == escaped:
                continue
            if self.in_string:
                if char == "\\":
                    escaped = at + 1
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                if char == "{" and self.depth in self.opens:
                    self.opens[self.depth].append(number)
                self.depth += 1
            else:
                self.depth -= 1


def _read_document(
    first: int, text: str, pending: Iterator[tuple[int, str]], path: str
) -> Iterator[JsonRecord | Unreadable]:
    """Collect a multi-line document; if it never closes, report its first line and go on."""
    scan = _DepthScan()
    scan.feed(text, first)
    buffered: list[tuple[int, str]] = [(first, text)]
    size = len(text)
    for number, line in pending:
        buffered.append((number, line))
        scan.feed(line, number)
        size += len(line)
        if scan.depth <= 0 or scan.in_string:
            break
        if size > MAX_DOCUMENT_CHARS or len(buffered) > MAX_DOCUMENT_LINES:
            break

    value = _loads("\n".join(line for _, line in buffered)) if scan.depth == 0 else _INVALID
    if value is not _INVALID:
        starts = scan.opens[2] if isinstance(value, dict) else scan.opens[1]
        yield from _records(value, first, starts, text, path)
        return

    yield Unreadable(path, first, "JSON document does not close", text[:MAX_TEXT])
    # Re-read what followed line by line, never opening a document again (keeps this linear).
    yield from _iter_records(iter(buffered[1:]), path, documents=False)


def _records(
    value: object, line: int, starts: list[int], text: str, path: str
) -> Iterator[JsonRecord | Unreadable]:
    """The records of one parsed JSON value: an object, a records document or an array."""
    items: object = value
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        items = value["records"]
    if not isinstance(items, list):
        if isinstance(items, dict):
            yield JsonRecord(line, None, items, text)
        else:
            yield Unreadable(path, line, "JSON value is not an object", text[:MAX_TEXT])
        return

    # Each record's own first line when the document was pretty-printed, else the document's.
    lines = starts if len(starts) == len(items) else [line] * len(items)
    for index, (item, at) in enumerate(zip(items, lines, strict=True)):
        raw = orjson.dumps(item).decode()
        if isinstance(item, dict):
            yield JsonRecord(at, index, item, raw)
        else:
            yield Unreadable(path, at, f"record {index} is not a JSON object", raw[:MAX_TEXT])


def record_body(value: Mapping[str, Any]) -> dict[str, Any]:
    """A record's columns: ``properties`` merged over the top level (diagnostic form)."""
    body = {k: v for k, v in value.items() if k != "properties"}
    properties = value.get("properties")
    if isinstance(properties, dict):
        body.update(properties)
    return body


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 time as aware UTC (naive means UTC), or None when absent or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def split_host_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address, as (host, port or None)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, to_port(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, to_port(port)
    host, _, port = text.rpartition(":")
    if port.isdigit() and not _is_ipv6(text) and _is_ipv6(host):
        return host, to_port(port)  # e.g. ::ffff:203.0.113.5:52345 (RFC 4291 2.2 form 3)
    return text, None  # no colon, or a bare IPv6 address (a port cannot be told apart)


def _is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address literal."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def to_port(value: object) -> int | None:
    """A port number (or other small count) from an int or a decimal string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 65535 else None
    if isinstance(value, float) and value.is_integer():
        return to_port(int(value))
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 5:
        return to_port(int(value.strip()))
    return None


def leftovers(body: Mapping[str, Any], prefix: str, skip: Set[str]) -> dict[str, FieldValue]:
    """The scalar columns nothing else mapped, as ``<prefix>.<column>`` (none starting ``_``)."""
    fields: dict[str, FieldValue] = {}
    for key, value in body.items():
        if key in skip or key.startswith("_") or value is None or value == "":
            continue
        if isinstance(value, str | int | float | bool):
            fields[f"{prefix}.{key}"] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            fields[f"{prefix}.{key}"] = list(value)
    return fields


FORMAT = LogFormat(
    name=NAME,
    description="Azure Firewall diagnostic logs (legacy msg rows and AZFW* structured tables)",
    sniff=sniff,
    parse=parse,
    extensions=(".json",),
)
