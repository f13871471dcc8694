"""indicia listen's service: alerts stored as they arrive, new indicators picked up live."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from typing import Any

from indicia.matching.alerts import Alert
from indicia.matching.serve import ListenOptions, serve
from indicia.services import Classification, add_indicator
from indicia.store import Store
from indicia.store.alerts import list_alerts

SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def cef(destination: str) -> bytes:
    head = "CEF:0|Example|FW|1.0|100|conn|3|"
    return f"{head}rt=1717243200000 src=10.1.2.3 dst={destination} act=allow\n".encode()


async def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _serve_and_send(
    store: Store, send: Any, seen: list[Alert], options: ListenOptions | None = None
) -> None:
    options = options or ListenOptions(udp=None, tcp="tcp://127.0.0.1:0", warninglists=False,
                                       reload_every=0.1)  # fmt: skip

    async def scenario() -> None:
        stop = asyncio.Event()
        started: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(store, options, seen.append, stop, started.set_result))
        listener = await started
        with socket.create_connection(listener.tcp_address) as conn:
            await send(conn, listener)
        stop.set()
        await task

    asyncio.run(scenario())


def test_listener_stores_alerts_and_reloads_new_indicators(sqlite_store: Store) -> None:
    add_indicator(sqlite_store, "198.18.7.7", Classification(valid_from=SINCE, name="first"))
    seen: list[Alert] = []
    options = ListenOptions(udp="udp://127.0.0.1:0", tcp="tcp://127.0.0.1:0", reload_every=0.1,
                            warninglists=False)  # fmt: skip

    async def send(conn: socket.socket, listener: Any) -> None:
        conn.sendall(cef("198.18.7.7"))
        await _wait_for(lambda: len(seen) == 1)
        add_indicator(sqlite_store, "198.18.8.8", Classification(valid_from=SINCE, name="later"))
        await asyncio.sleep(0.4)  # a few reload periods
        conn.sendall(cef("198.18.8.8"))
        await _wait_for(lambda: len(seen) == 2)

    _serve_and_send(sqlite_store, send, seen, options)

    assert [a.matched_value for a in seen] == ["198.18.7.7", "198.18.8.8"]
    stored = list_alerts(sqlite_store.engine)
    assert sorted(a["matched_value"] for a in stored) == ["198.18.7.7", "198.18.8.8"]
    assert {a["log_source"] for a in stored} == {seen[0].log_source}


def test_a_repeat_of_a_stored_alert_is_reported_with_the_stored_id(sqlite_store: Store) -> None:
    add_indicator(sqlite_store, "198.18.7.7", Classification(valid_from=SINCE, name="c2"))
    runs: list[list[Alert]] = [[], []]
    for seen in runs:  # the same event twice, within the fold window: one alert

        async def send(conn: socket.socket, listener: Any, seen: list[Alert] = seen) -> None:
            conn.sendall(cef("198.18.7.7"))
            await _wait_for(lambda: len(seen) == 1)

        _serve_and_send(sqlite_store, send, seen)

    stored = list_alerts(sqlite_store.engine)
    assert [a["id"] for a in stored] == [runs[0][0].id]
    assert runs[1][0].id == runs[0][0].id


def test_repeats_are_stored_once_each_across_runs(sqlite_store: Store) -> None:
    add_indicator(sqlite_store, "198.18.7.7", Classification(valid_from=SINCE, name="c2"))
    runs: list[list[Alert]] = []
    counts: list[list[int]] = []
    for messages in (3, 2):
        seen: list[Alert] = []

        async def send(conn: socket.socket, listener: Any, messages: int = messages) -> None:
            conn.sendall(cef("198.18.7.7") * messages)
            await _wait_for(lambda: listener.stats().matched == messages)
            await asyncio.sleep(0.3)  # a reload period writes the repeats while it runs
            counts.append([a["count"] for a in list_alerts(sqlite_store.engine)])

        _serve_and_send(sqlite_store, send, seen)
        runs.append(seen)

    assert counts == [[3], [5]]
    assert [len(seen) for seen in runs] == [1, 1]  # one alert opened per run, the same one
    stored = list_alerts(sqlite_store.engine)
    assert [(a["id"], a["count"]) for a in stored] == [(runs[0][0].id, 5)]


def test_repeats_after_a_close_open_a_new_alert(sqlite_store: Store) -> None:
    from indicia.store.alerts import set_status

    add_indicator(sqlite_store, "198.18.7.7", Classification(valid_from=SINCE, name="c2"))
    seen: list[Alert] = []

    async def send(conn: socket.socket, listener: Any) -> None:
        conn.sendall(cef("198.18.7.7"))
        await _wait_for(lambda: len(seen) == 1)
        set_status(sqlite_store.engine, [seen[0].id], "closed")
        conn.sendall(cef("198.18.7.7") * 2)
        await _wait_for(lambda: len(seen) == 2)  # announced at the next reload period

    _serve_and_send(sqlite_store, send, seen)

    stored = {a["id"]: (a["status"], a["count"]) for a in list_alerts(sqlite_store.engine)}
    assert stored == {seen[0].id: ("closed", 1), seen[1].id: ("new", 2)}


def test_a_store_that_refuses_writes_for_a_while_loses_nothing(
    sqlite_store: Store, monkeypatch: Any
) -> None:
    from sqlalchemy.exc import OperationalError

    import indicia.matching.serve as service

    add_indicator(sqlite_store, "198.18.7.7", Classification(valid_from=SINCE, name="c2"))
    refusals = {"save": 1, "repeats": 2}

    def refusing(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if refusals[name] > 0:
                refusals[name] -= 1
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(service, "save_alerts", refusing("save", service.save_alerts))
    monkeypatch.setattr(service, "add_repeats", refusing("repeats", service.add_repeats))
    seen: list[Alert] = []

    async def send(conn: socket.socket, listener: Any) -> None:
        conn.sendall(cef("198.18.7.7"))
        await _wait_for(lambda: len(seen) == 1)
        conn.sendall(cef("198.18.7.7") * 4)
        await _wait_for(lambda: listener.stats().matched == 5)
        await _wait_for(lambda: refusals == {"save": 0, "repeats": 0})
        await asyncio.sleep(0.3)

    _serve_and_send(sqlite_store, send, seen)

    assert [a["count"] for a in list_alerts(sqlite_store.engine)] == [5]
