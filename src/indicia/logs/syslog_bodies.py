"""The message bodies behind a syslog header: FortiGate, PAN-OS, Cisco ASA and free text.

Each ``_parse_*`` function maps one vendor's body to ECS fields and returns the log source name
and, when the body carries one, its own timestamp. Free text gets its IOCs extracted.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime

from indicia.logs.base import FieldValue
from indicia.logs.times import parse_any_time, parse_epoch, parse_iso_time
from indicia.observables import extract_iocs

BodyResult = tuple[str, datetime | None]

_FORTI_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
# PAN-OS CSV: FUTURE_USE, receive time (yyyy/mm/dd or, from 9.1 on, ISO 8601), serial, TYPE.
_PANOS = re.compile(
    r"\d+,(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+Z?),[^,]*,([A-Z]+),"
)
_ASA = re.compile(r"%(ASA|FTD|PIX)-(?:\w+-)?(\d)-(\d{6}):? ?")
_IP = r"[0-9A-Fa-f:.]*[0-9A-Fa-f]"
_ASA_FLOWS = (
    re.compile(rf"src (\S+?):({_IP})/(\d+) dst (\S+?):({_IP})/(\d+)"),
    re.compile(rf"(\S+?)/({_IP})\((\d+)\) -> (\S+?)/({_IP})\((\d+)\)"),
    re.compile(rf"from (\S+?):({_IP})/(\d+) (?:\([^)]*\) )?to (\S+?):({_IP})/(\d+)"),
    re.compile(rf"for (\S+?):({_IP})/(\d+) (?:\([^)]*\) )?(?:\S+ )?to (\S+?):({_IP})/(\d+)"),
    re.compile(rf"from ()({_IP})/(\d+) to ()({_IP})/(\d+)"),
)
_ASA_ACTION = re.compile(
    r"\b(Deny|Denied|denied|permitted|est-allowed|dropped|monitored|Built|Teardown)\b"
)
_ASA_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
_ASA_URL = re.compile(rf"(?:^|@)({_IP})(?:\(\S*\))? Accessed URL ({_IP}):(\S+)")
_ASA_DENIED_URL = re.compile(rf"Access denied URL (\S+) SRC ({_IP}) DEST ({_IP})")

# Free-text heuristics: who connected. sshd "from 1.2.3.4 port 22", pam "rhost=1.2.3.4",
# OpenVPN "user/1.2.3.4:41445 ..." and "[AF_INET]1.2.3.4:41445".
_TEXT_SOURCE = re.compile(
    r"(?:\bfrom |\brhost=|\[AF_INET6?\]|\bgetaddrinfo for \S+ )\[?([\w.:-]*[\w])\]?(?: port (\d+))?"
)
_VPN_PEER = re.compile(r"(?:([^\s/]+)/)?\[?([0-9A-Fa-f:.]+?)\]?:(\d+) ")
_TEXT_USER = re.compile(
    r"(?:\b(?:[Ii]nvalid|[Ff]ailed password for(?: invalid)?|Accepted \w+ for) user |"
    r"\bFailed password for |\bAccepted \w+ for |\buser=)([^\s;]+)"
)


# ---- FortiGate (FortiOS log message reference: key=value pairs) --------------------------------

_FORTI_ECS = {
    "srcip": "source.ip",
    "dstip": "destination.ip",
    "srcport": "source.port",
    "dstport": "destination.port",
    "transip": "source.nat.ip",
    "transport": "source.nat.port",
    "tranip": "destination.nat.ip",
    "tranport": "destination.nat.port",
    "action": "event.action",
    "hostname": "url.domain",
    "qname": "dns.question.name",
    "devname": "observer.name",
    "devid": "observer.serial_number",
    "policyid": "rule.id",
    "policyname": "rule.name",
    "user": "user.name",
    "service": "network.protocol",
    "proto": "network.iana_number",
    "msg": "message",
    "logid": "event.code",
    "srcmac": "source.mac",
    "dstmac": "destination.mac",
}
_PORTS = frozenset({"source.port", "destination.port", "source.nat.port", "destination.nat.port"})


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _put(fields: dict[str, FieldValue], name: str, value: str) -> None:
    """Store a value; ports become int, actions lower case; an empty value is left out."""
    if not value:
        return
    if name in _PORTS:
        if value.isdecimal():
            fields[name] = int(value)
        return
    fields[name] = value.lower() if name == "event.action" else value


def _parse_fortinet(text: str, fields: dict[str, FieldValue], year: int | None) -> BodyResult:
    """FortiGate ``date=... time=... devname=... srcip=...`` bodies."""
    pairs = {key: _unquote(value) for key, value in _FORTI_PAIR.findall(text)}
    for key, value in pairs.items():
        ecs = _FORTI_ECS.get(key)
        if ecs is not None:
            _put(fields, ecs, value)
        elif key == "url":
            fields["url.original"] = value
            if value.startswith("/"):
                fields["url.path"] = value
        elif value:
            fields[f"fortinet.{key}"] = value
    fields.update({"observer.vendor": "Fortinet", "observer.product": "FortiGate"})
    fields["observer.type"] = "firewall"
    return "fortinet", _fortinet_time(pairs)


def _fortinet_time(pairs: dict[str, str]) -> datetime | None:
    """``date`` + ``time`` + ``tz`` (device time, UTC without ``tz``), else epoch ``eventtime``."""
    if "date" in pairs and "time" in pairs:
        zone = pairs.get("tz", "")
        return parse_iso_time(f"{pairs['date']}T{pairs['time']}{zone}")
    eventtime = pairs.get("eventtime", "")
    return parse_epoch(eventtime) if eventtime.isdecimal() else None


# ---- PAN-OS (PAN-OS syslog field descriptions, CSV) --------------------------------------------

# Column indexes shared by TRAFFIC and THREAT logs (PAN-OS 10.x "Syslog Field Descriptions").
_PANOS_NET = {
    7: "source.ip",
    8: "destination.ip",
    9: "source.nat.ip",
    10: "destination.nat.ip",
    11: "rule.name",
    12: "source.user.name",
    13: "destination.user.name",
    14: "network.application",
    24: "source.port",
    25: "destination.port",
    26: "source.nat.port",
    27: "destination.nat.port",
    29: "network.transport",
    30: "event.action",
}
_PANOS_GLOBALPROTECT = {
    8: "event.action",
    9: "panos.stage",
    10: "panos.auth_method",
    11: "panos.tunnel_type",
    12: "user.name",
    13: "source.geo.country_iso_code",
    14: "host.name",
    15: "source.ip",
    17: "panos.private_ip",
    21: "panos.client_version",
    22: "host.os.type",
    25: "event.reason",
    28: "event.outcome",
    33: "panos.portal",
}


_PANOS_COLUMNS = {
    "TRAFFIC": _PANOS_NET,
    "THREAT": _PANOS_NET,
    "GLOBALPROTECT": _PANOS_GLOBALPROTECT,
}


def _parse_panos(text: str, fields: dict[str, FieldValue], year: int | None) -> BodyResult:
    """PAN-OS CSV bodies: TRAFFIC, THREAT (url, virus, ...) and GLOBALPROTECT logs."""
    row = next(csv.reader([text]))
    if len(row) < 7:
        raise ValueError(f"PAN-OS {row[3]} log has {len(row)} of at least 7 columns")
    log_type = row[3]
    # Only these layouts are mapped; other types (SYSTEM, CONFIG, ...) keep type and subtype.
    columns = _PANOS_COLUMNS.get(log_type, {})
    for index, name in columns.items():
        if index < len(row) and row[index] not in ("", "0.0.0.0", "::"):
            _put(fields, name, row[index])
    if log_type == "THREAT" and len(row) > 32:
        _panos_threat(row, fields)

    fields.update({"panos.type": log_type, "panos.subtype": row[4], "observer.vendor": "Palo Alto"})
    fields.update({"observer.product": "PAN-OS", "observer.serial_number": row[2]})
    # PAN-OS writes device-local time without a zone; it is read as UTC.
    return "panos", parse_any_time(row[6]) or parse_any_time(row[1])


def _panos_threat(row: Sequence[str], fields: dict[str, FieldValue]) -> None:
    """THREAT column 31 is the URL (subtype url) or file name; 32 the threat id, 33 category."""
    misc = row[31]
    if row[4] == "url" and misc:
        fields["url.original"] = misc
        host = misc.split("/", 1)[0].split(":", 1)[0]
        if host:
            fields["url.domain"] = host
    elif misc:
        fields["file.name"] = misc
    if row[32]:
        fields["rule.id"] = row[32]
    if row[33]:
        fields["rule.category"] = row[33]


# ---- Cisco ASA (Cisco ASA Series Syslog Messages) ----------------------------------------------


def _parse_asa(text: str, fields: dict[str, FieldValue], year: int | None) -> BodyResult:
    """``%ASA-<level>-<id>: message`` bodies: flows, ACL verdicts and URL messages."""
    match = _ASA.search(text)
    assert match is not None  # the dispatcher only routes matching text here
    message = text[match.end() :]
    fields.update({"event.code": match.group(3), "log.level": match.group(2), "message": message})
    fields.update({"observer.vendor": "Cisco", "observer.product": match.group(1)})
    fields["observer.type"] = "firewall"

    _asa_flow(message, fields)
    _asa_url(message, fields)
    action = _ASA_ACTION.search(message)
    if action:
        fields["event.action"] = action.group(1).lower()
    _asa_related(message, fields)
    return "cisco-asa", None


def _asa_related(message: str, fields: dict[str, FieldValue]) -> None:
    """Every IPv4 address of the message in ``related.ip``; ASA writes ``addr/port``, which a
    generic extractor would read as a CIDR."""
    ips = [ip for ip in _ASA_IPV4.findall(message) if is_ip(ip)]
    for name in ("source.ip", "destination.ip"):
        value = fields.get(name)
        if isinstance(value, str) and value not in ips:
            ips.append(value)
    if ips:
        fields["related.ip"] = list(dict.fromkeys(ips))


def _asa_flow(message: str, fields: dict[str, FieldValue]) -> None:
    """Source and destination of the first flow pattern that fits the message."""
    for pattern in _ASA_FLOWS:
        flow = pattern.search(message)
        if flow is None:
            continue
        src_if, src, sport, dst_if, dst, dport = flow.groups()
        # "Built outbound ... for <foreign> to <local>": the local side opened the connection.
        if "outbound" in message[: flow.start()] and message[flow.start() :].startswith("for"):
            src_if, src, sport, dst_if, dst, dport = dst_if, dst, dport, src_if, src, sport
        fields.update({"source.ip": src, "source.port": int(sport)})
        fields.update({"destination.ip": dst, "destination.port": int(dport)})
        if src_if:
            fields["observer.ingress.interface.name"] = src_if
        if dst_if:
            fields["observer.egress.interface.name"] = dst_if
        return


def _asa_url(message: str, fields: dict[str, FieldValue]) -> None:
    """Messages 304001 ("Accessed URL") and 304002 ("Access denied URL")."""
    accessed = _ASA_URL.search(message)
    if accessed:
        fields.update({"source.ip": accessed.group(1), "destination.ip": accessed.group(2)})
        fields["url.original"] = accessed.group(3)
        return
    denied = _ASA_DENIED_URL.search(message)
    if denied:
        fields.update({"url.original": denied.group(1), "source.ip": denied.group(2)})
        fields["destination.ip"] = denied.group(3)


# ---- free text ---------------------------------------------------------------------------------


_HASH_KINDS = ("md5", "sha1", "sha256", "sha512")


def add_iocs(text: str, fields: dict[str, FieldValue]) -> None:
    """IOCs found in free text: IPs to ``related.ip``, names to ``related.hosts``, and so on.

    Lists already in ``fields`` grow (a message and its structured data both add to them);
    a single-valued field already set is kept.
    """
    found: dict[str, list[str]] = {}
    for ioc in extract_iocs(text):
        values = found.setdefault(str(ioc.kind), [])
        if ioc.value not in values:
            values.append(ioc.value)

    _extend(fields, "related.ip", found.get("ipv4-addr", []) + found.get("ipv6-addr", []))
    _extend(fields, "related.hosts", found.get("domain-name", []))
    _extend(fields, "related.email", found.get("email-addr", []))
    urls = found.get("url", [])
    if len(urls) == 1 and "url.full" not in fields:
        fields["url.full"] = urls[0]
    elif urls:
        _extend(fields, "url.original", urls)
    for kind in _HASH_KINDS:
        if kind in found:
            fields.setdefault(f"file.hash.{kind}", found[kind][0])


def _extend(fields: dict[str, FieldValue], name: str, values: list[str]) -> None:
    if not values:
        return
    held = fields.get(name)
    before = [held] if isinstance(held, str) else list(held) if isinstance(held, list) else []
    fields[name] = list(dict.fromkeys([*before, *values]))


def _parse_text(text: str, fields: dict[str, FieldValue]) -> None:
    """A free-text message (sshd, OpenVPN, kernel, ...): message, who connected, IOCs."""
    fields["message"] = text
    peer = _VPN_PEER.match(text)
    if peer and is_ip(peer.group(2)):
        if peer.group(1):
            fields["user.name"] = peer.group(1)
        fields.update({"source.ip": peer.group(2), "source.port": int(peer.group(3))})
    else:
        _text_source(text, fields)
    user = _TEXT_USER.search(text)
    if user and "user.name" not in fields:
        fields["user.name"] = user.group(1)
    add_iocs(text, fields)


def _text_source(text: str, fields: dict[str, FieldValue]) -> None:
    """The first ``from <addr>`` / ``rhost=<addr or name>`` of the message is the source."""
    for match in _TEXT_SOURCE.finditer(text):
        value, port = match.group(1), match.group(2)
        if is_ip(value):
            fields["source.ip"] = value
        elif "." in value and match.group(0).startswith("rhost="):
            fields["source.domain"] = value
        else:
            continue
        if port:
            fields["source.port"] = int(port)
        return


def is_ip(value: str) -> bool:
    """Whether the text is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# ---- dispatch ----------------------------------------------------------------------------------


def _is_fortinet(text: str) -> bool:
    return text.startswith("date=") and (" devname=" in text or " logid=" in text)


def _is_panos(text: str) -> bool:
    return _PANOS.match(text) is not None


def _is_asa(text: str) -> bool:
    return "%" in text and _ASA.search(text) is not None


_BODIES = (
    (_is_fortinet, _parse_fortinet),
    (_is_panos, _parse_panos),
    (_is_asa, _parse_asa),
)


def parse_body(text: str, fields: dict[str, FieldValue], year: int | None) -> BodyResult | None:
    """Map a known vendor body into ``fields``; for free text add what it says and return None."""
    for matches, parser in _BODIES:
        if matches(text):
            return parser(text, fields, year)
    if text:
        _parse_text(text, fields)
    return None


def looks_like_body(line: str) -> bool:
    """Whether a line without a syslog header is still a vendor body this module knows."""
    return _is_fortinet(line) or _is_panos(line) or _is_asa(line)
