"""``indicia listen``: match syslog and CEF as it arrives, and store each alert at once.

New indicators are picked up without a restart: the listener looks at the indicator table
every few seconds and reloads the streaming engine when it changed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from indicia.errors import IndiciaError
from indicia.matching.alerts import Alert, IndicatorContext
from indicia.matching.listen import ListenerStats, SyslogListener
from indicia.matching.run import indicator_contexts
from indicia.matching.stream import StreamEngine
from indicia.matching.warninglists import default_warninglists
from indicia.store import Store
from indicia.store.alerts import Repeat, add_repeats, save_alerts
from indicia.store.indicators import IS_INDICATOR, indicators, matchable_entries

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """Where to listen and how to match."""

    udp: str | None = "udp://127.0.0.1:5514"
    tcp: str | None = "tcp://127.0.0.1:5514"
    min_confidence: int = 0
    warninglists: bool = True
    reload_every: float = 5.0


def _version(store: Store) -> tuple[int, str | None]:
    query = select(func.count(), func.max(indicators.c.modified)).where(IS_INDICATOR)
    with store.engine.connect() as conn:
        count, newest = conn.execute(query).one()
    return int(count), newest


class IntelWatcher:
    """Keeps a streaming engine and the alert contexts in step with the store."""

    def __init__(self, store: Store, engine: StreamEngine) -> None:
        self.store = store
        self.engine = engine
        self.contexts: dict[str, IndicatorContext] = {}
        self.version: tuple[int, str | None] | None = None

    def refresh(self) -> bool:
        """Reload when the indicators changed; says whether it did."""
        version = _version(self.store)
        if version == self.version:
            return False
        self.contexts = indicator_contexts(self.store)
        self.engine.reload(list(matchable_entries(self.store.engine)))
        self.version = version
        log.info("listener loaded %d indicators", version[0])
        return True

    def context_for(self, indicator_id: str) -> IndicatorContext:
        """The stored context of an indicator (a bare one if it vanished meanwhile)."""
        return self.contexts.get(indicator_id) or IndicatorContext(indicator_id)


async def serve(
    store: Store,
    options: ListenOptions,
    on_alert: Callable[[Alert], None],
    stop: asyncio.Event,
    on_start: Callable[[SyslogListener], None] | None = None,
) -> ListenerStats:
    """Listen until ``stop`` is set; store every new alert at once and its repeats as they come."""
    engine = StreamEngine(warninglists=default_warninglists() if options.warninglists else None)
    watcher = IntelWatcher(store, engine)
    watcher.refresh()

    written = _Written(store, on_alert)

    def alert_arrived(alert: Alert) -> None:
        # A repeat of an alert stored by an earlier run folds into it: report the stored id.
        # A copy: the folder goes on changing its alert as repeats come.
        on_alert(replace(alert, id=written.opened(alert)))

    listener = SyslogListener(
        engine,
        alert_arrived,
        udp=options.udp,
        tcp=options.tcp,
        context_for=watcher.context_for,
        min_confidence=options.min_confidence,
        on_forget=written.repeats,
    )
    async with listener:
        if on_start:
            on_start(listener)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=options.reload_every)
            except TimeoutError:
                watcher.refresh()
                written.repeats(listener.folder.alerts())
        await listener.drain()
    written.repeats(listener.folder.alerts())
    return listener.stats()


class _Written:
    """What the store holds of the listener's alerts: the stored id and the events written.

    An alert is written when it opens (it may fold into one an earlier run stored); the
    repeats the folder adds later are written as increments every reload period, before the
    folder forgets an alert, and at the end, so a stopped listener loses no count and never
    counts an event twice. A write the store refuses (locked, unreachable) is kept and tried
    again the next period rather than lost or fatal. Repeats of an alert the analyst closed
    meanwhile open a new alert, announced like any other.
    """

    def __init__(self, store: Store, announce: Callable[[Alert], None]) -> None:
        self.store = store
        self.announce = announce
        self._stored: dict[str, tuple[str, int]] = {}  # alert id -> (stored id, events written)
        self._unsaved: dict[str, Alert] = {}

    def opened(self, alert: Alert) -> str:
        """Write a new alert; its stored id (its own, or the one it folded into)."""
        try:
            saved = save_alerts(self.store.engine, [alert])
        except (SQLAlchemyError, IndiciaError) as exc:
            log.warning("could not store alert %s yet, will retry: %s", alert.id, exc)
            self._unsaved[alert.id] = alert
            return alert.id
        stored_id = saved.ids[0] if saved.ids else alert.id
        self._stored[alert.id] = (stored_id, alert.count)
        return stored_id

    def repeats(self, alerts: list[Alert]) -> None:
        """Write what the folder added since the last write: unsaved alerts, then increments."""
        for alert in list(self._unsaved.values()):
            del self._unsaved[alert.id]
            self.opened(alert)
            if alert.id in self._unsaved:
                return  # the store still refuses writes: try again next period
        increments: list[tuple[Alert, Repeat]] = []
        for alert in alerts:
            if alert.id in self._unsaved or alert.id not in self._stored:
                continue
            stored_id, written = self._stored[alert.id]
            if alert.count > written:
                extra = alert.count - written
                repeat = Repeat(stored_id, extra, alert.first_seen, alert.last_seen, alert.severity)
                increments.append((alert, repeat))
        try:
            closed = add_repeats(self.store.engine, [repeat for _, repeat in increments])
        except (SQLAlchemyError, IndiciaError) as exc:
            log.warning("could not store %d repeats yet, will retry: %s", len(increments), exc)
            return
        for alert, repeat in increments:
            self._stored[alert.id] = (repeat.alert_id, alert.count)
            if repeat.alert_id in closed:
                self._reopen(alert, repeat)

    def _reopen(self, alert: Alert, repeat: Repeat) -> None:
        # The folder's alert becomes the new one: later repeats fold into it. Its first event
        # after the close is not kept; the latest repeat stands for it.
        alert.id = f"alert--{uuid.uuid4()}"
        alert.count = repeat.count
        alert.first_seen = alert.last_seen
        alert.raw_ref = alert.last_ref or alert.raw_ref
        alert.event_keys, alert.untracked = set(), 0  # which repeats it holds is unknown
        alert.status = "new"
        self.announce(replace(alert, id=self.opened(alert)))
