"""CLI commands of the matching side: match, hunt, alerts, listen."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from indicia.cli_output import (
    TABLE_ROWS,
    cell_text,
    fail,
    make_console,
    print_cut,
    printable,
    write_json,
)
from indicia.errors import IndiciaError, InputError
from indicia.stix.timestamps import format_timestamp, parse_timestamp
from indicia.store import Store
from indicia.store.alerts import STATUSES, list_alerts, set_status

if TYPE_CHECKING:  # the matching engines load DuckDB and Arrow: only when a command needs them
    from indicia.matching.alerts import Alert
    from indicia.matching.run import MatchOptions, MatchReport

alerts_app = typer.Typer(help="List, acknowledge and close alerts.", invoke_without_command=True)
console = make_console()
errors = make_console(stderr=True)
_SPAN = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """``14d``, ``12h``, ``30m`` back from now, or an RFC 3339 time or date (UTC)."""
    if text is None:
        return None
    span = _SPAN.fullmatch(text.strip())
    if span:
        delta = timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
        return (now or datetime.now(UTC)) - delta
    stamp = text if "T" in text else f"{text}T00:00:00Z"
    try:
        return parse_timestamp(stamp if stamp.endswith("Z") else f"{stamp}Z", field="--since")
    except IndiciaError:
        raise InputError("--since", f"{text!r} is neither a span like 14d nor a time") from None


def _fail(exc: Exception) -> typer.Exit:
    return fail(errors, exc)


ALERT_COLUMNS = (
    ("Last seen", "last_seen"),
    ("Severity", "severity"),
    ("Matched", "matched_value"),
    ("Field", "field"),
    ("Log source", "log_source"),
    ("Count", "count"),
    ("TLP", "tlp"),
    ("Confidence", "confidence"),
    ("Kill chain", "kill_chain_phases"),
    ("Tags", "tags"),
    ("Action", "event_action"),
    ("Status", "status"),
    ("Raw event", "raw_ref"),
    ("ID", "id"),
)


# Short words a reader scans down: never folded ("commonsecuritylog", "informational").
_MIN_WIDTHS = {"Severity": 13, "Log source": 17}


def print_alerts(
    rows: list[dict[str, Any]], *, title: str = "Alerts", everything: str = "--format json"
) -> None:
    """Alerts as a table."""
    table = Table(title=f"{title} ({len(rows)})", title_justify="left")
    for header, _ in ALERT_COLUMNS:
        table.add_column(header, overflow="fold", min_width=_MIN_WIDTHS.get(header))
    for row in rows[:TABLE_ROWS]:
        table.add_row(*(cell_text(_shown(row, key)) for _, key in ALERT_COLUMNS))
    console.print(table)
    print_cut(console, len(rows), "alerts", everything)


def _shown(row: dict[str, Any], key: str) -> Any:
    if key == "kill_chain_phases":  # the phases by name; the chains are in --format json
        return [phase.get("phase_name", "") for phase in row[key]]
    if key == "raw_ref":  # the file's name and line; the whole path is in --format json
        return PurePath(row[key]).name or row[key]
    return row[key]


def print_match_report(report: MatchReport, output: str) -> None:
    """The run's counts, then its alerts, in the chosen output."""
    if output == "json":
        write_json(report.as_dict())
        return
    if output == "jsonl":
        for alert in report.alerts:
            sys.stdout.write(orjson.dumps(alert).decode() + "\n")
        return
    suppressed = ", ".join(f"{k} {v}" for k, v in report.suppressed_by.most_common())
    console.print(
        f"events read {report.events}, unreadable lines {report.unreadable}, "
        f"matches {report.matches}, suppressed {report.suppressed}"
        + (f" ({suppressed})" if suppressed else "")
        + f", alerts {len(report.alerts)} (new {report.alerts_created}, "
        f"folded into earlier {report.alerts_folded})",
        highlight=False,
    )
    if report.older_than_since:
        console.print(f"events older than --since: {report.older_than_since}", highlight=False)
    if report.without_time:
        console.print(
            f"events without a readable time: {report.without_time} "
            "(matched with the indicators valid now, and kept by --since)",
            highlight=False,
        )
    for position in report.unreadable_positions:
        console.print(f"  unreadable: {printable(position)}", highlight=False, markup=False)
    if output == "table":
        print_alerts(report.alerts, everything="--output json")


Logs = Annotated[
    list[Path], typer.Argument(help="Log files, directories, .gz files, or - for stdin.")
]
Format = Annotated[str, typer.Option("--format", help="Log format name, or auto to sniff it.")]
Mapping = Annotated[
    Path | None,
    typer.Option("--mapping", help="TOML field mapping for any JSON-lines or CSV log (generic)."),
]
Output = Annotated[str, typer.Option("--output", help="table, json or jsonl.")]
MinConfidence = Annotated[int, typer.Option(min=0, max=100, help="Ignore indicators below this.")]
NoWarninglists = Annotated[
    bool, typer.Option("--no-warninglists", help="Do not suppress well-known benign values.")
]


def _run(logs: list[Path], options: MatchOptions, output: str) -> None:
    from indicia.matching.run import match_logs

    if output not in ("table", "json", "jsonl"):
        raise _fail(
            InputError("--output", f"unknown output {output!r}; choose table, json or jsonl")
        )
    try:
        store = Store.open()
        try:
            report = match_logs(store, [str(p) for p in logs], options)
        finally:
            store.close()
    except IndiciaError as exc:
        raise _fail(exc) from exc
    print_match_report(report, output)


def _run_with(
    logs: list[Path],
    fmt: str,
    mapping: Path | None,
    since: str | None,
    min_confidence: int,
    no_warninglists: bool,
    output: str,
    *,
    hunt: bool,
) -> None:
    from indicia.matching.run import MatchOptions

    try:
        floor = parse_since(since)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    options = MatchOptions(
        fmt=fmt,
        mapping=str(mapping) if mapping else None,
        since=floor,
        min_confidence=min_confidence,
        warninglists=not no_warninglists,
        hunt=hunt,
    )
    _run(logs, options, output)


def match_command(
    logs: Logs,
    fmt: Format = "auto",
    mapping: Mapping = None,
    since: Annotated[
        str | None, typer.Option(help="Only events after this: 14d, 12h or a time.")
    ] = None,
    min_confidence: MinConfidence = 0,
    no_warninglists: NoWarninglists = False,
    output: Output = "table",
) -> None:
    """Match logs against the indicators valid at each event's time; store the alerts."""
    _run_with(logs, fmt, mapping, since, min_confidence, no_warninglists, output, hunt=False)


def hunt_command(
    logs: Logs,
    since: Annotated[str, typer.Option(help="How far back to hunt: 14d, 12h or a time.")] = "14d",
    fmt: Format = "auto",
    mapping: Mapping = None,
    min_confidence: MinConfidence = 0,
    no_warninglists: NoWarninglists = False,
    output: Output = "table",
) -> None:
    """Retro-hunt: run every current indicator over older logs (Sentinel's 14-day lookback)."""
    _run_with(logs, fmt, mapping, since, min_confidence, no_warninglists, output, hunt=True)


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")
    ] = None,
    indicator: Annotated[str | None, typer.Option(help="Only alerts of this indicator id.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many alerts.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """List stored alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("table", "json"):
        raise _fail(InputError("--format", f"unknown output format {fmt!r}; use table or json"))
    try:
        store = Store.open()
        try:
            rows = list_alerts(store.engine, status=status, indicator_id=indicator, limit=limit)
        finally:
            store.close()
    except IndiciaError as exc:
        raise _fail(exc) from exc
    if fmt == "json":
        write_json(rows)
    else:
        print_alerts(rows)


def _set(ids: list[str], status: str) -> None:
    try:
        store = Store.open()
        try:
            changed = set_status(store.engine, ids, status)
        finally:
            store.close()
    except IndiciaError as exc:
        raise _fail(exc) from exc
    unchanged = len(set(ids)) - changed
    beyond = status if status == "closed" else f"{status} or closed"
    note = f" ({unchanged} already {beyond})" if unchanged else ""
    console.print(f"{changed} alerts {status}{note}")


@alerts_app.command("ack")
def alerts_ack(ids: Annotated[list[str], typer.Argument(help="Alert ids.")]) -> None:
    """Acknowledge alerts."""
    _set(ids, "acknowledged")


@alerts_app.command("close")
def alerts_close(ids: Annotated[list[str], typer.Argument(help="Alert ids.")]) -> None:
    """Close alerts."""
    _set(ids, "closed")


def _alert_line(alert: Alert) -> str:
    return orjson.dumps(
        {
            "id": alert.id,
            "indicator_ids": alert.indicator_ids,
            "matched_value": alert.matched_value,
            "field": alert.field,
            "log_source": alert.log_source,
            "severity": alert.severity,
            "first_seen": format_timestamp(alert.first_seen, precision="microsecond"),
            "raw_ref": alert.raw_ref,
        }
    ).decode()


def listen_command(
    syslog: Annotated[
        list[str],
        typer.Option(
            "--syslog", help="udp://HOST:PORT or tcp://HOST:PORT; repeatable (one of each)."
        ),
    ] = ["udp://127.0.0.1:5514", "tcp://127.0.0.1:5514"],  # noqa: B006 - read, never mutated
    min_confidence: MinConfidence = 0,
    no_warninglists: NoWarninglists = False,
) -> None:
    """Receive CEF and syslog, match each message as it comes, print and store alerts."""
    from indicia.matching.serve import ListenOptions, serve

    udp = [s for s in syslog if s.startswith("udp://")]
    tcp = [s for s in syslog if s.startswith("tcp://")]
    other = [s for s in syslog if s not in udp + tcp]
    if other:
        reason = f"{other[0]!r} is neither udp://HOST:PORT nor tcp://HOST:PORT"
        raise _fail(InputError("--syslog", reason))
    if len(udp) > 1 or len(tcp) > 1:
        raise _fail(InputError("--syslog", "give at most one udp:// and one tcp:// address"))
    options = ListenOptions(
        udp=udp[0] if udp else None,
        tcp=tcp[0] if tcp else None,
        min_confidence=min_confidence,
        warninglists=not no_warninglists,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)

        def started(listener: Any) -> None:
            errors.print(f"listening: udp {listener.udp_address} tcp {listener.tcp_address}")

        def alerted(alert: Alert) -> None:
            sys.stdout.write(_alert_line(alert) + "\n")
            sys.stdout.flush()

        stats = await serve(store, options, alerted, stop, on_start=started)
        counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in stats.as_dict().items())
        errors.print(f"stopped: {counts}", highlight=False)

    try:
        store = Store.open()
        try:
            asyncio.run(main())
        finally:
            store.close()
    except (IndiciaError, OSError) as exc:
        raise _fail(exc) from exc
