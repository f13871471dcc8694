"""Azure web application firewall logs: Application Gateway and Front Door WAF records.

Application Gateway (category ApplicationGatewayFirewallLog, table AGWFirewallLogs) logs
``clientIp``, ``requestUri`` (a path), ``hostname``, ``ruleId``, ``action`` and ``message``;
Front Door (FrontdoorWebApplicationFirewallLog) logs ``clientIP``, ``socketIP``, ``requestUri``
(a full URL), ``host``, ``ruleName``, ``action`` and ``policy`` (Azure Monitor reference). The
diagnostic form (``properties``), the AzureDiagnostics columns (``clientIp_s``, ...) and the
resource-specific columns (``ClientIp``, ...) are read alike: keys are compared without case and
without the AzureDiagnostics type suffix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.json_records import (
    MAX_TEXT,
    JsonRecord,
    iter_json_records,
    leftovers,
    parse_time,
    record_body,
    split_host_port,
    text_of,
    to_port,
)

NAME = "azure_waf"
APP_GATEWAY = "azure-appgw-waf"
FRONT_DOOR = "azure-frontdoor-waf"
# Application Gateway logs only a path; the scheme is not in the record, and Azure WAFs front
# HTTPS sites far more often than plain HTTP, so a rebuilt url.full says https.
DEFAULT_SCHEME = "https"

# AzureDiagnostics flattens properties into columns named <name>_<type>: s string, d double,
# g GUID, b bool; nested objects become <parent>_<child>_<type> (details_message_s).
_SUFFIX = re.compile(r"_[sdgb]$")
_USED = frozenset(
    {
        "clientip",
        "clientport",
        "socketip",
        "requesturi",
        "hostname",
        "host",
        "ruleid",
        "rulename",
        "action",
        "message",
        "details",
        "time",
        "timestamp",
        "timegenerated",
        "category",
        "type",
        "operationname",
        "resourceid",
    }
)


def sniff(sample: list[str]) -> bool:
    """Whether the first lines look like Application Gateway or Front Door WAF JSON."""
    text = "\n".join(sample)
    return text.lstrip().startswith(("{", "[")) and any(
        marker in text
        for marker in (
            "ApplicationGatewayFirewall",
            "AGWFirewallLogs",
            "rontdoorWebApplicationFirewall",
            "rontDoorWebApplicationFirewall",
        )
    )


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield one event per WAF record; a record of another kind is unreadable."""
    for item in iter_json_records(lines, path):
        if isinstance(item, Unreadable):
            yield item
        else:
            yield _record_event(item, path)


def _record_event(record: JsonRecord, path: str) -> ParseResult:
    """One WAF record as an event."""
    body = record_body(record.value)
    columns = _columns(body)
    kind = _kind(columns)
    if kind is None:
        return Unreadable(path, record.line, "not an Azure WAF record", record.text[:MAX_TEXT])

    fields = _request_fields(columns, front_door=kind == FRONT_DOOR)
    fields.update(_rule_fields(columns))
    fields.update(_detail_fields(body, columns))
    fields.update(_observer(kind))
    if record.index is not None:
        fields[f"{NAME}.record_index"] = record.index
    fields.update(leftovers(_plain(body), NAME, skip=_USED))

    time = parse_time(
        columns.get("time") or columns.get("timestamp") or columns.get("timegenerated")
    )
    return Event(time, kind, fields, path, record.line, record.text)


def _columns(body: Mapping[str, Any]) -> dict[str, Any]:
    """The record's keys in lower case without the AzureDiagnostics type suffix."""
    return {_SUFFIX.sub("", key).lower(): value for key, value in body.items()}


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """The columns no mapping used, keyed as logged minus the AzureDiagnostics type suffix."""
    plain = {_SUFFIX.sub("", key): value for key, value in body.items()}
    return {key: value for key, value in plain.items() if key.lower() not in _USED}


def _kind(columns: Mapping[str, Any]) -> str | None:
    """The log source name from the category or table, or None for another kind of record."""
    name = str(columns.get("category") or columns.get("type") or "").lower()
    if "frontdoor" in name and "firewall" in name:
        return FRONT_DOOR
    if "applicationgatewayfirewall" in name or name == "agwfirewalllogs":
        return APP_GATEWAY
    return None


def _request_fields(columns: Mapping[str, Any], *, front_door: bool) -> dict[str, FieldValue]:
    """Client and socket addresses, and the request URL split into its ECS parts."""
    fields: dict[str, FieldValue] = {}
    client = text_of(columns.get("clientip"))
    socket = text_of(columns.get("socketip"))
    if client:
        fields["client.ip"] = client
    if socket or client:
        fields["source.ip"] = socket or client
    port = to_port(columns.get("clientport"))
    if port is not None:
        fields["source.port"] = port

    host = text_of(columns.get("host")) or text_of(columns.get("hostname"))
    uri = text_of(columns.get("requesturi"))
    fields.update(_url_fields(uri, host))
    if front_door and host:
        fields["url.domain"] = split_host_port(host)[0]
    return fields


def _url_fields(uri: str, host: str) -> dict[str, FieldValue]:
    """``url.original`` as logged; ``url.full``, domain and path, built from host when needed."""
    if not uri:
        return {"url.domain": split_host_port(host)[0]} if host else {}

    fields: dict[str, FieldValue] = {"url.original": uri}
    if "://" in uri:
        full = uri
    elif host and uri.startswith("/"):
        full = f"{DEFAULT_SCHEME}://{host}{uri}"
    else:
        return fields

    fields["url.full"] = full
    try:
        parts = urlsplit(full)
        domain = parts.hostname
    except ValueError:  # a bracketed host that is not an IPv6 address
        return fields
    if domain:
        fields["url.domain"] = domain
    if parts.path:
        fields["url.path"] = parts.path
    return fields


def _rule_fields(columns: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Rule id or name, the action (lower case) and the rule message."""
    fields: dict[str, FieldValue] = {}
    for key, ecs in (("ruleid", "rule.id"), ("rulename", "rule.name"), ("message", "message")):
        value = text_of(columns.get(key))
        if value:
            fields[ecs] = value
    action = text_of(columns.get("action"))
    if action:
        fields["event.action"] = action.lower()
    return fields


def _detail_fields(body: Mapping[str, Any], columns: Mapping[str, Any]) -> dict[str, FieldValue]:
    """The ``details`` object: its message and matched data, and Front Door's matched values."""
    fields: dict[str, FieldValue] = {}
    details = body.get("details")
    if isinstance(details, dict):
        for key in ("message", "msg", "data", "file", "line"):
            value = text_of(details.get(key))
            if value:
                fields[f"{NAME}.details.{key}"] = value
        values = [text_of(m.get("matchVariableValue")) for m in _matches(details)]
        names = [text_of(m.get("matchVariableName")) for m in _matches(details)]
        if any(values):
            fields[f"{NAME}.details.match_values"] = values
            fields[f"{NAME}.details.match_names"] = names
    for key in ("details_message", "details_data", "detailedmessage", "detaileddata"):
        value = text_of(columns.get(key))
        if value:
            fields[f"{NAME}.{key}"] = value
    return fields


def _matches(details: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Front Door's ``details.matches`` entries that are objects."""
    matches = details.get("matches")
    return [m for m in matches if isinstance(m, dict)] if isinstance(matches, list) else []


def _observer(kind: str) -> dict[str, FieldValue]:
    """Vendor, product and type of the WAF that wrote the record."""
    product = "Azure Front Door" if kind == FRONT_DOOR else "Azure Application Gateway"
    return {"observer.vendor": "Microsoft", "observer.product": product, "observer.type": "waf"}


FORMAT = LogFormat(
    name=NAME,
    description="Azure Application Gateway and Front Door web application firewall logs",
    sniff=sniff,
    parse=parse,
    extensions=(".json",),
)
