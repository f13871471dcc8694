"""A syslog listener: UDP and TCP servers whose messages are parsed, matched and alerted.

TCP framing follows RFC 6587, detected once per connection from its first bytes: octet
counting (3.4.1, ``MSG-LEN SP SYSLOG-MSG``) when the connection opens with a non-zero digit run
and a space, else non-transparent framing (3.4.2) with LF as the trailer. Messages holding
``CEF:`` go to the CEF parser, all others to the syslog parser. A bounded queue sits between the
servers and the matcher: TCP waits for room (the sender is slowed by TCP flow control), UDP has
no such brake, so a datagram that finds the queue full is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from indicia.errors import InputError
from indicia.logs import cef, syslog
from indicia.logs.base import Event, LogFormat
from indicia.matching.alerts import Alert, AlertFolder, IndicatorContext
from indicia.matching.stream import StreamEngine
from indicia.matching.types import Suppressed

logger = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024  # RFC 5425 4.3.1 asks receivers to take at least 2048; we take 64 KiB
_MAX_LENGTH_DIGITS = 8
_BATCH = 256
_PRUNE_EVERY = 10_000

OnAlert = Callable[[Alert], object]
ContextFor = Callable[[str], IndicatorContext]


@dataclass(slots=True)
class ListenerStats:
    """Counters of a listener; every received message ends up parsed, unreadable or dropped."""

    received: int = 0
    parsed: int = 0
    unreadable: int = 0
    dropped: int = 0
    matched: int = 0
    suppressed: int = 0
    alerts: int = 0
    callback_errors: int = 0
    connections: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Framer:
    """Cut a TCP byte stream into syslog messages (RFC 6587 octet counting or LF framing)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self.max_message = max_message
        self.octet_counting: bool | None = None  # None until the first bytes decide
        self.errors = 0  # messages lost to framing: too long, or a broken length header
        self.reported = 0  # errors already counted by the listener
        self.messages = 0  # messages handed out so far (their 1-based number in the stream)
        self._buffer = bytearray()
        self._skip = 0  # bytes of an overlong message still to throw away
        self._discarding = False  # inside an overlong LF-framed message

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the connection; return the messages they complete."""
        self._buffer += data
        if self.octet_counting is None and not self._detect():
            return []
        return self._octet_frames() if self.octet_counting else self._lf_frames()

    def close(self) -> list[bytes]:
        """The connection ended: a last LF-framed message needs no trailer; a cut frame is lost."""
        rest = bytes(self._buffer).strip(b"\r\n\0")
        self._buffer.clear()
        if not rest or self._discarding:
            return []
        if self.octet_counting:
            self.errors += 1
            return []
        return [rest]

    def _detect(self) -> bool:
        head = self._buffer[: _MAX_LENGTH_DIGITS + 1]
        digits = len(head) - len(head.lstrip(b"0123456789"))
        if digits == len(head) and digits <= _MAX_LENGTH_DIGITS:
            return False  # only digits so far: wait for the byte that decides
        self.octet_counting = digits > 0 and head[0:1] != b"0" and head[digits : digits + 1] == b" "
        return True

    def _octet_frames(self) -> list[bytes]:
        frames: list[bytes] = []
        while self._buffer:
            if self._skip:
                cut = min(self._skip, len(self._buffer))
                del self._buffer[:cut]
                self._skip -= cut
                continue
            space = self._buffer.find(b" ", 0, _MAX_LENGTH_DIGITS + 1)
            if space < 0:
                if len(self._buffer) > _MAX_LENGTH_DIGITS:
                    self._lose_octet_framing()
                    return frames + self._lf_frames()
                break
            length_text = bytes(self._buffer[:space])
            if not length_text.isdigit() or length_text.startswith(b"0"):
                self._lose_octet_framing()
                return frames + self._lf_frames()
            length = int(length_text)
            if length > self.max_message:
                self.errors += 1
                del self._buffer[: space + 1]
                self._skip = length
                continue
            if len(self._buffer) < space + 1 + length:
                break
            frames.append(bytes(self._buffer[space + 1 : space + 1 + length]).rstrip(b"\r\n\0"))
            del self._buffer[: space + 1 + length]
        return frames

    def _lose_octet_framing(self) -> None:
        # A length header that is not one: the stream cannot be resynchronised by counting, so
        # the rest of the connection is read line by line.
        logger.warning("syslog over TCP: broken octet-counting header; reading lines instead")
        self.errors += 1
        self.octet_counting = False

    def _lf_frames(self) -> list[bytes]:
        end = self._buffer.rfind(b"\n")
        if end < 0:
            if len(self._buffer) > self.max_message:
                self._start_discarding()
            return []
        lines = bytes(self._buffer[:end]).split(b"\n")
        del self._buffer[: end + 1]
        if self._discarding:
            lines = lines[1:]  # the tail of the overlong message
            self._discarding = False
        frames = []
        for line in lines:
            if len(line) > self.max_message:
                self.errors += 1
                continue
            line = line.rstrip(b"\r\0").lstrip(b"\0")
            if line:
                frames.append(line)
        return frames

    def _start_discarding(self) -> None:
        if not self._discarding:
            self.errors += 1
        self._discarding = True
        self._buffer.clear()


def parse_message(text: str, path: str, number: int) -> Event | str:
    """Parse one syslog message (CEF inside it, else syslog); the reason text if unreadable."""
    fmt: LogFormat = cef.FORMAT if "CEF:" in text else syslog.FORMAT
    for result in fmt.parse([(number, text)], path):
        return result if isinstance(result, Event) else result.reason
    return "empty message"


def _address(url: str, scheme: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a number, or outside 0-65535
        port = None
    if parts.scheme != scheme or not parts.hostname or port is None:
        raise InputError(url, f"expected {scheme}://HOST:PORT with a port from 0 to 65535")
    return parts.hostname, port


class SyslogListener:
    """Receive syslog over UDP and TCP, match every message, and report new alerts."""

    def __init__(
        self,
        engine: StreamEngine,
        on_alert: OnAlert,
        *,
        udp: str | None = "udp://127.0.0.1:5514",
        tcp: str | None = "tcp://127.0.0.1:5514",
        context_for: ContextFor | None = None,
        folder: AlertFolder | None = None,
        queue_size: int = 10_000,
        min_confidence: int = 0,
        max_message: int = MAX_MESSAGE,
        on_forget: Callable[[list[Alert]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.on_alert = on_alert
        # Told the alerts the folder is about to forget, so their last repeats can be kept.
        self.on_forget = on_forget
        self.folder = folder or AlertFolder()
        self.context_for = context_for or IndicatorContext
        self.min_confidence = min_confidence
        self.max_message = max_message
        self._udp_bind = _address(udp, "udp") if udp else None
        self._tcp_bind = _address(tcp, "tcp") if tcp else None
        self._queue_size = queue_size
        self._stats = ListenerStats()
        self._queue: asyncio.Queue[tuple[bytes, str, int]] | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._worker: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._latest: datetime | None = None
        self.udp_address: tuple[str, int] | None = None
        self.tcp_address: tuple[str, int] | None = None

    async def start(self) -> None:
        """Bind the servers (port 0 picks a free port; see ``udp_address``/``tcp_address``)."""
        self._queue = asyncio.Queue(self._queue_size)
        self._worker = asyncio.create_task(self._work(), name="indicia-syslog-matcher")
        loop = asyncio.get_running_loop()
        if self._udp_bind:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=self._udp_bind
            )
            self._udp = transport
            self.udp_address = transport.get_extra_info("sockname")[:2]
        if self._tcp_bind:
            self._tcp = await asyncio.start_server(self._serve_tcp, *self._tcp_bind)
            self.tcp_address = self._tcp.sockets[0].getsockname()[:2]
        logger.info("syslog listener on udp %s, tcp %s", self.udp_address, self.tcp_address)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop receiving, finish matching what was queued (up to ``timeout``), and close."""
        if self._udp:
            self._udp.close()
        if self._tcp:
            self._tcp.close()
        # Connections first: from Python 3.12 on, wait_closed also waits for every connection.
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._tcp:
            await self._tcp.wait_closed()
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        logger.info("syslog listener stopped: %s", self._stats.as_dict())

    async def __aenter__(self) -> SyslogListener:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def drain(self) -> None:
        """Wait until every message received so far has been matched."""
        if self._queue is not None:
            await self._queue.join()

    def stats(self) -> ListenerStats:
        """A copy of the counters."""
        return ListenerStats(**self._stats.as_dict())

    def offer(self, message: bytes, origin: str, number: int) -> None:
        """Queue a datagram's message, or count it as dropped when the queue is full."""
        assert self._queue is not None
        self._stats.received += 1
        try:
            self._queue.put_nowait((message, origin, number))
        except asyncio.QueueFull:
            self._stats.dropped += 1

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._queue is not None
        self._connections.add(task)
        self._stats.connections += 1
        peer = writer.get_extra_info("peername")
        origin = f"tcp://{peer[0]}:{peer[1]}" if peer else "tcp://-"
        framer = Framer(self.max_message)
        try:
            while data := await reader.read(65536):
                await self._queue_tcp(framer, framer.feed(data), origin)
            await self._queue_tcp(framer, framer.close(), origin)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _queue_tcp(self, framer: Framer, messages: list[bytes], origin: str) -> None:
        assert self._queue is not None
        # Messages the framer had to give up (too long, broken length) are received, unreadable.
        lost = framer.errors - framer.reported
        framer.reported = framer.errors
        self._stats.received += lost
        self._stats.unreadable += lost
        for message in messages:
            self._stats.received += 1
            framer.messages += 1
            try:
                await self._queue.put((message, origin, framer.messages))
            except asyncio.CancelledError:
                self._stats.dropped += 1  # shutdown came while waiting for room
                raise

    async def _work(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < _BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            for message, origin, number in batch:
                await self._handle(message, origin, number)
                queue.task_done()
            await asyncio.sleep(0)  # let the servers read between batches

    async def _handle(self, message: bytes, origin: str, number: int) -> None:
        parsed = parse_message(message.decode("utf-8", "replace"), origin, number)
        if not isinstance(parsed, Event):
            self._stats.unreadable += 1
            logger.debug("unreadable syslog message %s:%d: %s", origin, number, parsed)
            return

        self._stats.parsed += 1
        self._forget_old_alerts(parsed)
        for result in self.engine.match_event(parsed, min_confidence=self.min_confidence):
            if isinstance(result, Suppressed):
                self._stats.suppressed += 1
                continue
            self._stats.matched += 1
            alert = self.folder.add(result, self.context_for(result.indicator_id))
            if self.folder.opened is alert:
                self._stats.alerts += 1
                await self._notify(alert)

    def _forget_old_alerts(self, event: Event) -> None:
        # Alerts already went to on_alert; the folder only needs those that can still fold, so a
        # long-running listener does not grow without bound.
        if event.timestamp is not None and (self._latest is None or event.timestamp > self._latest):
            self._latest = event.timestamp
        if self._latest is not None and self._stats.parsed % _PRUNE_EVERY == 0:
            before = self._latest - 2 * self.folder.window
            if self.on_forget is not None:
                self.on_forget([a for a in self.folder.alerts() if a.last_seen < before])
            self.folder.prune(before)

    async def _notify(self, alert: Alert) -> None:
        try:
            outcome = self.on_alert(alert)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            # A failing consumer must not stop the listener; the failure is counted and logged.
            self._stats.callback_errors += 1
            logger.exception("on_alert callback failed for %s", alert.id)


class _UdpProtocol(asyncio.DatagramProtocol):
    """One syslog message per datagram (RFC 5426 3.1)."""

    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener
        self.number = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.number += 1
        message = data.rstrip(b"\r\n\0")
        self.listener.offer(message, f"udp://{addr[0]}:{addr[1]}", self.number)
