"""Windows DNS Server logs: the text debug log (dns.log) and DNS analytical events as JSON.

Debug log packet lines follow the legend the server writes at the top of dns.log ("Message logging
key"): date, time, thread id, context, packet id, UDP/TCP, Snd/Rcv, remote IP, xid, R (response)
or blank (query), opcode, ``[`` flags hex, flag chars, response code ``]``, question type and the
question name in wire form ``(3)www(7)example(3)com(0)`` (RFC 1035 4.1.2). The server writes local
time in its locale's date layout; it is read as UTC, month first for ``m/d/yyyy``.

Analytical events (Microsoft-Windows-DNSServer/Analytical, ids 256-262, "DNS Logging and
Diagnostics") exported one JSON object per line carry QNAME, QTYPE, Source, InterfaceIP, ...
either at the top level or under ``EventData`` / ``winlog.event_data``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.times import parse_any_time

NAME = "windows-dns"

_PACKET = re.compile(
    r"(?P<date>\d{1,4}/\d{1,2}/\d{1,4}) (?P<time>\d{1,2}:\d\d:\d\d)(?: (?P<ampm>[AP]M))? "
    r"(?P<thread>[0-9A-Fa-f]+) PACKET +(?P<packet>[0-9A-Fa-f]+) (?P<proto>UDP|TCP) "
    r"(?P<dir>Snd|Rcv) (?P<ip>\S+) +(?P<xid>[0-9A-Fa-f]+) (?P<qr>[ R]) (?P<opcode>[QNU?]) "
    r"\[(?P<flags>[0-9A-Fa-f]{4}) (?P<chars>[ A-Z]{4}) *(?P<rcode>\w+)\] +(?P<qtype>\S+) +"
    r"(?P<qname>\S+)$"
)
_OTHER = re.compile(
    r"(?P<date>\d{1,4}/\d{1,2}/\d{1,4}) (?P<time>\d{1,2}:\d\d:\d\d)(?: (?P<ampm>[AP]M))? "
    r"(?P<thread>[0-9A-Fa-f]+) (?P<context>[A-Z_]+) +(?P<rest>.*)$"
)
_HEADER_LINES = (
    "DNS Server log file",
    "Log file wrap at",
    "Message logging key",
    "Field #",
    "-------",
)
_LEGEND = re.compile(r"\s+(?:\d{1,2}\s+)?\S")
# Flag chars of the legend, as ECS dns.header_flags names (RFC 1035 4.1.1).
_FLAGS = {"A": "AA", "T": "TC", "D": "RD", "R": "RA"}
_OPCODES = {"Q": "QUERY", "N": "NOTIFY", "U": "UPDATE", "?": "UNKNOWN"}
_LABEL = re.compile(r"\((\d+)\)")

# RFC 1035 3.2.2 and the IANA registry: the QTYPE numbers analytical events write.
QTYPES: Mapping[str, str] = {
    "1": "A", "2": "NS", "5": "CNAME", "6": "SOA", "12": "PTR", "15": "MX", "16": "TXT",
    "28": "AAAA", "33": "SRV", "35": "NAPTR", "43": "DS", "46": "RRSIG", "48": "DNSKEY",
    "64": "SVCB", "65": "HTTPS", "99": "SPF", "252": "AXFR", "251": "IXFR", "255": "ANY",
}  # fmt: skip
_ANALYTIC_ACTIONS = {
    256: "query-received", 257: "response-success", 258: "response-failure",
    259: "ignored-query", 260: "recurse-query-out", 261: "recurse-response-in",
    262: "recurse-query-timeout",
}  # fmt: skip


def decode_wire_name(text: str) -> str:
    """``(3)www(7)example(3)com(0)`` to ``www.example.com``, using the label lengths."""
    labels: list[str] = []
    pos = 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if match is None:
            return _LABEL.sub(".", text).strip(".")  # not well formed: best effort
        length = int(match.group(1))
        if length == 0:
            break
        labels.append(text[match.end() : match.end() + length])
        pos = match.end() + length
    return ".".join(labels)


def _local_time(date: str, time: str, ampm: str | None) -> datetime | None:
    """The debug log's locale time: ``yyyy/mm/dd`` or US ``m/d/yyyy``, 12- or 24-hour clock."""
    parts = [int(p) for p in date.split("/")]
    year, month, day = parts if parts[0] > 31 else (parts[2], parts[0], parts[1])
    hour, minute, second = (int(p) for p in time.split(":"))
    if ampm:
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _packet_event(match: re.Match[str], path: str, number: int, line: str) -> Event:
    """Map one PACKET line of the debug log to ECS ``dns.*`` and network fields."""
    g = match.group
    response = g("qr") == "R"
    fields: dict[str, FieldValue] = {
        "dns.question.name": decode_wire_name(g("qname")),
        "dns.question.type": g("qtype"),
        "dns.id": g("xid"),
        "dns.op_code": _OPCODES[g("opcode")],
        "dns.type": "answer" if response else "query",
        "dns.header_flags": [flag for char, flag in _FLAGS.items() if char in g("chars")],
        "network.transport": g("proto").lower(),
        "network.direction": "inbound" if g("dir") == "Rcv" else "outbound",
        "event.action": "response" if response else "query",
        "windows_dns.thread_id": g("thread"),
        "windows_dns.packet_id": g("packet"),
        "windows_dns.flags": g("flags"),
    }
    if response:
        fields["dns.response_code"] = g("rcode")
    # The remote IP is the client for a query received or a response sent, else the peer server.
    client_side = (g("dir") == "Rcv") != response
    fields["client.ip" if client_side else "server.ip"] = g("ip")
    fields["source.ip" if g("dir") == "Rcv" else "destination.ip"] = g("ip")
    stamp = _local_time(g("date"), g("time"), g("ampm"))
    return Event(stamp, NAME, fields, path, number, line)


def _debug_line(line: str, path: str, number: int) -> ParseResult | None:
    """A debug-log line as an Event, an Unreadable, or None for the legend at the top."""
    packet = _PACKET.match(line)
    if packet:
        return _packet_event(packet, path, number, line)
    other = _OTHER.match(line)
    if other and other.group("context") == "PACKET":
        # A packet line that does not fit the legend is truncated or altered: say so.
        return Unreadable(
            path, number, "PACKET line does not match the documented layout", line[:1000]
        )
    if other:
        fields: dict[str, FieldValue] = {
            "message": other.group("rest"),
            "windows_dns.context": other.group("context"),
            "windows_dns.thread_id": other.group("thread"),
        }
        stamp = _local_time(other.group("date"), other.group("time"), other.group("ampm"))
        return Event(stamp, NAME, fields, path, number, line)
    if line.startswith(_HEADER_LINES) or _LEGEND.match(line):
        return None
    return Unreadable(path, number, "not a Windows DNS debug log line", line[:1000])


# ---- analytical events (JSON) ------------------------------------------------------------------


def _event_data(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The event's data: under EventData / event_data / winlog.event_data, or the record itself."""
    for key in ("EventData", "event_data", "Properties"):
        if isinstance(record.get(key), Mapping):
            return record[key]  # type: ignore[no-any-return]
    winlog = record.get("winlog")
    if isinstance(winlog, Mapping) and isinstance(winlog.get("event_data"), Mapping):
        return winlog["event_data"]  # type: ignore[no-any-return]
    return record


def _event_id(record: Mapping[str, Any]) -> int | None:
    winlog = record.get("winlog")
    value = record.get("EventID", record.get("Id", record.get("event_id")))
    if value is None and isinstance(winlog, Mapping):
        value = winlog.get("event_id")
    if isinstance(value, Mapping):  # {"#text": "256"} from XML-to-JSON exports
        value = value.get("#text")
    text = str(value)
    return int(text) if text.isascii() and text.isdecimal() else None


def _record_time(record: Mapping[str, Any]) -> datetime | None:
    for key in ("TimeCreated", "@timestamp", "TimeGenerated", "timestamp", "TimeStamp"):
        value = record.get(key)
        if isinstance(value, Mapping):
            value = value.get("SystemTime") or value.get("@SystemTime")
        if isinstance(value, str | int):
            return parse_any_time(str(value))
    return None


def _analytic_event(record: Mapping[str, Any], path: str, number: int, line: str) -> Event:
    """Map an analytical event: QNAME, QTYPE, Source/Destination, InterfaceIP, RCODE, ..."""
    data = _event_data(record)
    event_id = _event_id(record)
    fields: dict[str, FieldValue] = {}
    qname = str(data.get("QNAME", "")).rstrip(".")
    if qname:
        fields["dns.question.name"] = qname
    qtype = str(data.get("QTYPE", ""))
    if qtype:
        fields["dns.question.type"] = QTYPES.get(qtype, qtype)
    for key, name in (("Source", "source.ip"), ("Destination", "destination.ip")):
        if data.get(key):
            fields[name] = str(data[key])
    if data.get("InterfaceIP"):
        fields["server.ip"] = str(data["InterfaceIP"])
    if event_id in (256, 257, 258, 259):
        fields["client.ip"] = str(data.get("Source") or data.get("Destination") or "")
    for key in ("XID", "RCODE", "Zone", "PolicyName", "Port", "TCP", "Flags", "AdditionalInfo"):
        if data.get(key) not in (None, ""):
            fields[f"windows_dns.{key}"] = str(data[key])
    if event_id is not None:
        fields["event.code"] = str(event_id)
        fields["event.action"] = _ANALYTIC_ACTIONS.get(event_id, "dns-event")
    fields = {k: v for k, v in fields.items() if v != ""}
    return Event(_record_time(record), NAME, fields, path, number, line)


def _json_line(line: str, path: str, number: int) -> ParseResult:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Unreadable(path, number, f"invalid JSON: {exc}", line[:1000])
    if not isinstance(record, dict):
        return Unreadable(path, number, "JSON line is not an object", line[:1000])
    return _analytic_event(record, path, number, line)


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield events for debug-log packet lines and analytical JSON events; legend lines skipped."""
    for number, line in lines:
        if not line.strip():
            continue
        result = (
            _json_line(line, path, number) if line[0] == "{" else _debug_line(line, path, number)
        )
        if result is not None:
            yield result


def sniff(sample: list[str]) -> bool:
    """A dns.log legend or PACKET line, or JSON carrying QNAME with an analytical event id."""
    for line in sample:
        if line.startswith("DNS Server log file") or _PACKET.match(line):
            return True
        if line.startswith("{") and '"QNAME"' in line and ('"InterfaceIP"' in line):
            return True
    return False


FORMAT = LogFormat(
    name=NAME,
    description="Windows DNS Server debug log (dns.log) and DNS analytical events as JSON",
    sniff=sniff,
    parse=parse,
)
