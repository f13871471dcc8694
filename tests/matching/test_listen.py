"""The syslog listener: RFC 6587 framing, real samples over UDP and TCP, overload, and load."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from indicia.errors import InputError
from indicia.logs.base import Event
from indicia.logs.cef import format_cef
from indicia.matching.alerts import Alert
from indicia.matching.listen import Framer, SyslogListener, parse_message
from indicia.matching.stream import StreamEngine
from indicia.matching.types import IndicatorEntry

DATA = Path(__file__).parents[1] / "data" / "matching"
FRAMING = json.loads((DATA / "framing_cases.json").read_text())
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def _entry(indicator: str, value: str, kind: str = "ipv4-addr") -> IndicatorEntry:
    return IndicatorEntry(f"indicator--{indicator}", kind, value, SINCE)


def _lines(name: str) -> list[str]:
    return [line for line in (DATA / name).read_text().splitlines() if line.strip()]


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=30))


async def _settle(listener: SyslogListener, expected: int) -> None:
    """Wait until ``expected`` messages were received, then until all are matched."""
    while listener.stats().received < expected:
        await asyncio.sleep(0.01)
    await listener.drain()


async def _send_tcp(address: tuple[str, int], payload: bytes) -> None:
    _, writer = await asyncio.open_connection(*address)
    writer.write(payload)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


@pytest.mark.parametrize("case", FRAMING, ids=lambda c: c["id"])
def test_framing(case: dict[str, Any]) -> None:
    framer = Framer(case.get("max", 65536))
    messages: list[bytes] = []
    for chunk in case["chunks"]:
        messages += framer.feed(chunk.encode())
    messages += framer.close()

    assert [m.decode() for m in messages] == case["messages"]
    assert framer.octet_counting is case["octet"]
    assert framer.errors == case.get("errors", 0)


def test_parse_message_picks_cef_or_syslog() -> None:
    cef_line = _lines("F5_ASM_ASimWebSession_RawLogs.txt")[0]
    syslog_line = _lines("OpenVPN.txt")[0]

    cef_event = parse_message(cef_line, "tcp://x", 1)
    syslog_event = parse_message(syslog_line, "udp://x", 2)

    assert isinstance(cef_event, Event) and cef_event.source == "cef"
    assert cef_event.fields["source.ip"] == "10.4.1.101"
    assert isinstance(syslog_event, Event) and syslog_event.source == "syslog"
    assert (syslog_event.ref, syslog_event.fields["source.ip"]) == ("udp://x:2", "1.2.3.4")
    assert isinstance(parse_message("CEF:0|broken", "tcp://x", 3), str)


def test_real_samples_over_tcp_and_udp() -> None:
    cef_lines = _lines("F5_ASM_ASimWebSession_RawLogs.txt")
    vpn_lines = _lines("OpenVPN.txt")
    engine = StreamEngine([_entry("f5-client", "10.4.1.101"), _entry("vpn-peer", "1.2.3.4")])
    alerts: list[Alert] = []

    async def scenario() -> None:
        listener = SyslogListener(
            engine, alerts.append, udp="udp://127.0.0.1:0", tcp="tcp://127.0.0.1:0"
        )
        async with listener:
            framed = b"".join(b"%d %s" % (len(line), line) for line in map(str.encode, cef_lines))
            await _send_tcp(listener.tcp_address or ("", 0), framed)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for line in vpn_lines:
                    udp.sendto(line.encode() + b"\n", listener.udp_address or ("", 0))
            await _settle(listener, len(cef_lines) + len(vpn_lines))
            stats = listener.stats()

        assert stats.received == len(cef_lines) + len(vpn_lines)
        assert (stats.parsed, stats.unreadable, stats.dropped) == (stats.received, 0, 0)
        assert stats.matched == direct
        assert stats.alerts == len(alerts)

    # The same lines parsed and matched directly, without the network in between.
    direct = sum(
        len(engine.match_event(event))
        for n, line in enumerate(cef_lines + vpn_lines)
        if isinstance(event := parse_message(line, "direct", n), Event)
    )
    _run(scenario)
    assert {a.indicator_ids[0] for a in alerts} == {"indicator--f5-client", "indicator--vpn-peer"}
    assert {a.log_source for a in alerts} == {"cef", "syslog"}


def test_alert_reaches_the_callback_within_a_second() -> None:
    engine = StreamEngine([_entry("c2", "203.0.113.66")])
    seen: asyncio.Queue[tuple[float, Alert]] = asyncio.Queue()

    async def on_alert(alert: Alert) -> None:
        await seen.put((time.perf_counter(), alert))

    async def scenario() -> None:
        async with SyslogListener(engine, on_alert, udp="udp://127.0.0.1:0", tcp=None) as lst:
            line = format_cef("Acme", "FW", "1", "7", "conn", 5, {"dst": "203.0.113.66"})
            sent = time.perf_counter()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(line.encode(), lst.udp_address or ("", 0))
            arrived, alert = await asyncio.wait_for(seen.get(), timeout=1.0)

        assert arrived - sent < 1.0
        assert (alert.matched_value, alert.field) == ("203.0.113.66", "destination.ip")

    _run(scenario)


def test_udp_overload_is_counted_not_lost() -> None:
    # A burst of datagrams handed over before the matcher runs, as the event loop does when a
    # socket has many waiting: the queue takes what fits, the rest is counted as dropped.
    engine = StreamEngine([_entry("x", "192.0.2.1")])

    async def scenario() -> None:
        listener = SyslogListener(
            engine, lambda a: None, udp="udp://127.0.0.1:0", tcp=None, queue_size=8
        )
        async with listener:
            for n in range(50):
                line = format_cef("Acme", "FW", "1", "7", "c", 1, {"src": f"192.0.2.{n + 1}"})
                listener.offer(line.encode(), "udp://burst", n)
            await _settle(listener, 50)
            stats = listener.stats()

        assert (stats.received, stats.parsed, stats.dropped) == (50, 8, 42)
        assert stats.matched == 1  # 192.0.2.1 was first, so it was queued

    _run(scenario)


def test_a_failing_callback_is_counted_and_the_listener_goes_on() -> None:
    engine = StreamEngine([_entry("a", "192.0.2.1"), _entry("b", "192.0.2.2")])

    def explode(alert: Alert) -> None:
        raise RuntimeError("consumer down")

    async def scenario() -> None:
        async with SyslogListener(engine, explode, udp=None, tcp="tcp://127.0.0.1:0") as lst:
            lines = [
                format_cef("A", "B", "1", "1", "n", 1, {"src": ip})
                for ip in ("192.0.2.1", "192.0.2.2")
            ]
            await _send_tcp(lst.tcp_address or ("", 0), "\n".join(lines).encode())
            await _settle(lst, 2)
            stats = lst.stats()

        assert (stats.parsed, stats.alerts, stats.callback_errors) == (2, 2, 2)

    _run(scenario)


def test_tcp_framing_losses_are_counted_as_unreadable() -> None:
    engine = StreamEngine([_entry("a", "192.0.2.1")])

    async def scenario() -> None:
        listener = SyslogListener(
            engine, lambda a: None, udp=None, tcp="tcp://127.0.0.1:0", max_message=200
        )
        async with listener:
            good = format_cef("A", "B", "1", "1", "n", 1, {"src": "192.0.2.1"})
            payload = "\n".join([good, "CEF:0|" + "x" * 500, "<13>not cef, no ioc", good]) + "\n"
            await _send_tcp(listener.tcp_address or ("", 0), payload.encode())
            await _settle(listener, 4)
            stats = listener.stats()

        assert (stats.received, stats.parsed, stats.unreadable) == (4, 3, 1)
        assert stats.matched == 2

    _run(scenario)


def test_stop_closes_the_ports() -> None:
    async def scenario() -> None:
        listener = SyslogListener(StreamEngine(), lambda a: None, udp=None, tcp="tcp://127.0.0.1:0")
        await listener.start()
        address = listener.tcp_address or ("", 0)
        _, writer = await asyncio.open_connection(*address)  # an idle client is cut off by stop
        await listener.stop()
        writer.close()

        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(*address)

    _run(scenario)


@pytest.mark.parametrize(
    "url",
    ["tcp://127.0.0.1", "udp://127.0.0.1:514", "127.0.0.1:5514", "tcp://127.0.0.1:99999",
     "tcp://127.0.0.1:port"],
)  # fmt: skip
def test_bad_listen_addresses_are_rejected(url: str) -> None:
    with pytest.raises(InputError, match="expected tcp://HOST:PORT with a port from 0 to 65535"):
        SyslogListener(StreamEngine(), lambda a: None, udp=None, tcp=url)


def test_hundred_thousand_cef_lines_over_tcp() -> None:
    total, every = 100_000, 997
    planted = {n: f"198.51.100.{n // every % 250 + 1}" for n in range(0, total, every)}
    engine = StreamEngine(_entry(f"p{n}", ip) for n, ip in planted.items())
    lines = [
        format_cef(
            "Acme",
            "FW",
            "1",
            "100",
            "conn",
            3,
            {
                "src": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                "dst": planted.get(n, f"172.16.{n >> 8 & 255}.{n & 255}"),
                "dpt": 443,
                "act": "allow",
            },
        )
        for n in range(total)
    ]
    payload = ("\n".join(lines) + "\n").encode()
    alerts: list[Alert] = []

    async def scenario() -> None:
        async with SyslogListener(engine, alerts.append, udp=None, tcp="tcp://127.0.0.1:0") as lst:
            started = time.perf_counter()
            await _send_tcp(lst.tcp_address or ("", 0), payload)
            await _settle(lst, total)
            elapsed = time.perf_counter() - started
            stats = lst.stats()

        assert (stats.received, stats.parsed, stats.unreadable, stats.dropped) == (
            total,
            total,
            0,
            0,
        )
        assert stats.matched == len(planted)
        assert elapsed < 20  # measured ~3 s on one core

    _run(scenario)
    assert {a.indicator_ids[0] for a in alerts} == {f"indicator--p{n}" for n in planted}
    assert all(a.severity == "low" for a in alerts)  # no confidence, but the traffic was allowed
