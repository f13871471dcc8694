"""Azure Firewall diagnostic logs: the legacy ``msg`` text rows and the structured AZFW* tables.

Legacy rows (categories AzureFirewallNetworkRule, AzureFirewallApplicationRule and
AzureFirewallDnsProxy; Log Analytics column ``msg_s``) carry one sentence such as ``TCP request
from 10.0.0.4:49930 to 203.0.113.5:443. Action: Deny. Rule Collection: c. Rule: r``. The
resource-specific tables (AZFWNetworkRule, AZFWApplicationRule, AZFWNatRule, AZFWThreatIntel,
AZFWIdpsSignature, AZFWDnsQuery, ...) carry named columns (Azure Monitor table reference). Input
is JSON lines, a ``{"records": [...]}`` document per line, or one pretty-printed document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.json_records import (
    MAX_TEXT,
    JsonRecord,
    iter_json_records,
    leftovers,
    parse_time,
    record_body,
    split_host_port,
    to_port,
)

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


FORMAT = LogFormat(
    name=NAME,
    description="Azure Firewall diagnostic logs (legacy msg rows and AZFW* structured tables)",
    sniff=sniff,
    parse=parse,
    extensions=(".json",),
)
