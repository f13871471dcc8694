"""Suricata EVE JSON records, and fast.log alert lines.

An EVE record has ``timestamp``, ``event_type``, the flow tuple (``src_ip``, ``src_port``,
``dest_ip``, ``dest_port``, ``proto``) and one object per protocol (``alert``, ``dns``, ``http``,
``tls``, ``fileinfo``, ``flow``, ...; Suricata manual, "Eve JSON Format"). DNS answers come in
version 1 (one record per answer), version 2 (``answers`` and ``grouped``) and version 3
(``queries``) shapes. Every event type is an event, ``stats`` too; unmapped values keep their
EVE path under ``suricata.``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from indicia.logs.base import Event, FieldValue, Lines, LogFormat, ParseResult, Unreadable
from indicia.logs.json_records import MAX_TEXT, parse_time, to_port

NAME = "suricata"
FLATTEN_DEPTH = 6  # nesting kept for unmapped values; deeper structures are dropped as a whole

# EVE paths with an ECS home (Suricata manual "Eve JSON Format"; ECS 8.x).
ECS_PATHS: Mapping[str, str] = {
    "src_ip": "source.ip",
    "src_port": "source.port",
    "dest_ip": "destination.ip",
    "dest_port": "destination.port",
    "proto": "network.transport",
    "community_id": "network.community_id",
    "alert.action": "event.action",
    "alert.signature": "rule.name",
    "alert.signature_id": "rule.id",
    "alert.category": "rule.category",
    "alert.severity": "event.severity",
    "http.hostname": "url.domain",
    "http.url": "url.original",
    "http.http_method": "http.request.method",
    "http.status": "http.response.status_code",
    "http.http_user_agent": "user_agent.original",
    "http.http_refer": "http.request.referrer",
    "tls.sni": "tls.client.server_name",
    "tls.subject": "tls.server.subject",
    "tls.issuerdn": "tls.server.issuer",
    "tls.ja3.hash": "tls.client.ja3",
    "tls.ja3s.hash": "tls.server.ja3s",
    "fileinfo.filename": "file.name",
    "fileinfo.md5": "file.hash.md5",
    "fileinfo.sha1": "file.hash.sha1",
    "fileinfo.sha256": "file.hash.sha256",
    "fileinfo.size": "file.size",
    "smtp.helo": "suricata.smtp.helo",
    "smtp.mail_from": "email.from.address",
    "smtp.rcpt_to": "email.to.address",
    "email.subject": "email.subject",
}
INT_FIELDS = frozenset(
    {"source.port", "destination.port", "http.response.status_code", "event.severity"}
)
_SKIP = frozenset({"timestamp", "event_type", "dns", "app_proto"})

# fast.log: "MM/DD/YYYY-HH:MM:SS.ffffff  [**] [gid:sid:rev] msg [**] [Classification: c]
# [Priority: p] {PROTO} src[:port] -> dst[:port]" (Suricata manual, "Alert output: fast.log").
_FAST = re.compile(
    r"^(?P<ts>\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\.\d+)\s+\[\*\*\]\s+"
    r"\[(?P<gid>\d+):(?P<sid>\d+):(?P<rev>\d+)\]\s+(?P<msg>.*?)\s+\[\*\*\]\s+"
    r"(?:\[Classification:\s*(?P<cls>[^\]]*)\]\s+)?\[Priority:\s*(?P<prio>\d+)\]\s+"
    r"\{(?P<proto>[^}]*)\}\s+(?P<src>\S+)\s+->\s+(?P<dst>\S+)\s*$"
)
_PORTED = frozenset({"TCP", "UDP", "SCTP"})


def sniff(sample: list[str]) -> bool:
    """Whether the first lines are EVE JSON records or fast.log alerts."""
    for line in sample:
        if line.startswith("{") and '"event_type"' in line and '"timestamp"' in line:
            return True
        if _FAST.match(line):
            return True
    return False


def parse(lines: Lines, path: str) -> Iterator[ParseResult]:
    """Yield one event per EVE record or fast.log line."""
    for number, text in lines:
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("{"):
            yield _eve_event(stripped, number, path)
        else:
            yield _fast_event(stripped, number, path)


def _eve_event(text: str, number: int, path: str) -> ParseResult:
    """One EVE record as an event."""
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Unreadable(path, number, "not valid JSON", text[:MAX_TEXT])
    if not isinstance(record, dict) or not isinstance(record.get("event_type"), str):
        return Unreadable(path, number, "not an EVE record (no event_type)", text[:MAX_TEXT])

    kind = record["event_type"]
    fields: dict[str, FieldValue] = {"event.dataset": f"suricata.{kind}"}
    for name, value in _flatten(record, _SKIP):
        ecs = ECS_PATHS.get(name)
        if ecs is None or not _put(fields, ecs, value):
            _put(fields, f"suricata.{name}", value)

    fields.update(_dns_fields(record.get("dns")))
    fields.update(_derived(record, fields))
    return Event(parse_time(record.get("timestamp")), NAME, fields, path, number, text)


def _flatten(value: Mapping[str, Any], skip: frozenset[str]) -> Iterator[tuple[str, Any]]:
    """Leaf values of a record as (dotted path, value); lists of objects stay whole."""
    stack: list[tuple[str, Mapping[str, Any], int]] = [("", value, 0)]
    while stack:
        prefix, node, depth = stack.pop()
        for key, item in node.items():
            name = f"{prefix}{key}"
            if name in skip:
                continue
            if isinstance(item, dict):
                if depth < FLATTEN_DEPTH:
                    stack.append((f"{name}.", item, depth + 1))
            else:
                yield name, item


def _put(fields: dict[str, FieldValue], name: str, value: object) -> bool:
    """Store ``value`` under ``name`` in the field's shape; False when it does not fit."""
    if name in INT_FIELDS:
        number = to_port(value) if name.endswith("port") else _int(value)
        if number is None:
            return False
        fields[name] = number
    elif isinstance(value, list):
        if not all(isinstance(item, str | int | float) for item in value):
            return False  # lists of objects (answers, matches) are mapped on their own
        fields[name] = [str(item) for item in value]
    elif name == "rule.id" and isinstance(value, int):
        fields[name] = str(value)
    elif isinstance(value, str | int | float | bool):
        fields[name] = value
    else:
        return False
    return True


def _int(value: object) -> int | None:
    """An integer from an int or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _dns_fields(dns: object) -> dict[str, FieldValue]:
    """Question and answers of a dns object in its v1, v2 or v3 shape."""
    if not isinstance(dns, dict):
        return {}
    fields: dict[str, FieldValue] = {}
    query = _first_query(dns)
    name, kind = query.get("rrname"), query.get("rrtype")
    if isinstance(name, str):
        # In v1 an answer record names the owner of the answer, which is what a domain
        # indicator should see; v2 and v3 answers name the question.
        fields["dns.question.name"] = name
    if isinstance(kind, str):
        fields["dns.question.type"] = kind
    answers = _answers(dns)
    if answers:
        fields["dns.answers.data"] = answers
    if isinstance(dns.get("rcode"), str):
        fields["dns.response_code"] = dns["rcode"]
    if isinstance(dns.get("id"), int | str):
        fields["dns.id"] = str(dns["id"])
    for key in ("type", "version", "flags", "tx_id"):
        if key in dns and isinstance(dns[key], str | int):
            fields[f"suricata.dns.{key}"] = dns[key]
    return fields


def _first_query(dns: Mapping[str, Any]) -> Mapping[str, Any]:
    """The question: ``queries[0]`` (v3) or the dns object itself (v1, v2)."""
    queries = dns.get("queries")
    if isinstance(queries, list) and queries and isinstance(queries[0], dict):
        return queries[0]
    return dns


def _answers(dns: Mapping[str, Any]) -> list[str]:
    """Answer data from ``rdata`` (v1), ``answers[].rdata`` and ``grouped`` (v2, v3)."""
    found: list[str] = []
    if isinstance(dns.get("rdata"), str):
        found.append(dns["rdata"])
    answers = dns.get("answers")
    if isinstance(answers, list):
        found.extend(a["rdata"] for a in answers if isinstance(a, dict) and "rdata" in a)
    grouped = dns.get("grouped")
    if isinstance(grouped, dict):
        for values in grouped.values():
            if isinstance(values, list):
                found.extend(v for v in values if isinstance(v, str))
    return list(dict.fromkeys(str(item) for item in found))


def _derived(record: Mapping[str, Any], fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """Fields built from several EVE values: the HTTP URL, the TLS fingerprint, the protocol."""
    derived: dict[str, FieldValue] = {}
    http = record.get("http")
    if isinstance(http, dict):
        full = _http_url(http)
        if full:
            derived["url.full"] = full
    tls = record.get("tls")
    if isinstance(tls, dict) and isinstance(tls.get("fingerprint"), str):
        # EVE writes the certificate's SHA-1 as colon-separated hex pairs.
        derived["tls.server.hash.sha1"] = tls["fingerprint"].replace(":", "")
    protocol = record.get("app_proto")
    if isinstance(protocol, str) and protocol not in ("failed", "unknown"):
        derived["network.protocol"] = protocol
    derived.update(_mail_paths(fields))
    if isinstance(fields.get("network.transport"), str):
        derived["network.transport"] = str(fields["network.transport"]).lower()
    return derived


def _mail_paths(fields: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """SMTP ``MAIL FROM``/``RCPT TO`` paths without their angle brackets (RFC 5321 4.1.2)."""
    paths: dict[str, FieldValue] = {}
    sender = fields.get("email.from.address")
    if isinstance(sender, str):
        paths["email.from.address"] = sender.strip().strip("<>")
    recipients = fields.get("email.to.address")
    if isinstance(recipients, list):
        paths["email.to.address"] = [item.strip().strip("<>") for item in recipients]
    return paths


def _http_url(http: Mapping[str, Any]) -> str:
    """``http://host[:port]/path`` from hostname, port and url; the url itself if absolute."""
    url, host = http.get("url"), http.get("hostname")
    if not isinstance(url, str) or not url:
        return ""
    if "://" in url:
        return url
    if not isinstance(host, str) or not host or not url.startswith("/"):
        return ""
    port = to_port(http.get("http_port"))
    authority = f"[{host}]" if ":" in host else host
    if port is not None and port != 80:
        authority = f"{authority}:{port}"
    return f"http://{authority}{url}"


def _fast_event(text: str, number: int, path: str) -> ParseResult:
    """One fast.log alert line as an event (its time is the sensor's clock, read as UTC)."""
    match = _FAST.match(text)
    if match is None:
        return Unreadable(path, number, "neither EVE JSON nor a fast.log alert", text[:MAX_TEXT])

    proto = match["proto"].upper()
    fields: dict[str, FieldValue] = {
        "event.dataset": "suricata.fast",
        "rule.id": match["sid"],
        "event.severity": int(match["prio"]),
        "network.transport": proto.lower(),
        "suricata.alert.gid": int(match["gid"]),
        "suricata.alert.rev": int(match["rev"]),
    }
    # Suricata prints "(null)" for a rule without msg or classtype: no value, not a name.
    if match["msg"] != "(null)":
        fields["rule.name"] = match["msg"]
    if match["cls"] and match["cls"] != "(null)":
        fields["rule.category"] = match["cls"]
    _add_fast_endpoint(fields, "source", match["src"], proto)
    _add_fast_endpoint(fields, "destination", match["dst"], proto)
    return Event(_fast_time(match["ts"]), NAME, fields, path, number, text)


def _add_fast_endpoint(fields: dict[str, FieldValue], prefix: str, text: str, proto: str) -> None:
    """Address and, for port protocols, the port after the last colon."""
    if proto in _PORTED and ":" in text:
        address, _, port = text.rpartition(":")
        number = to_port(port)
        if number is not None:
            fields[f"{prefix}.ip"] = address
            fields[f"{prefix}.port"] = number
            return
    fields[f"{prefix}.ip"] = text


def _fast_time(text: str) -> datetime | None:
    """fast.log's ``MM/DD/YYYY-HH:MM:SS.ffffff``; it has no zone, so UTC is assumed."""
    try:
        return datetime.strptime(text[:26], "%m/%d/%Y-%H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


FORMAT = LogFormat(
    name=NAME,
    description="Suricata EVE JSON (alert, dns, http, tls, fileinfo, flow, stats) and fast.log",
    sniff=sniff,
    parse=parse,
    extensions=(".json", ".log"),
)
