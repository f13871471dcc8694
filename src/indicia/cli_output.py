"""How the CLI shows results: Rich tables for people, JSON and CSV for scripts."""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from indicia.errors import InputError
from indicia.importer import ImportReport

OUTPUT_FORMATS = ("table", "json", "csv")

# Tables piped to a file or a CI log are laid out this wide (Rich would take 80 columns and
# fold every cell); COLUMNS, when set, still wins.
PIPED_WIDTH = 200


def make_console(*, stderr: bool = False) -> Console:
    """A console without emoji codes (":x:" in a stored name is text), wide when piped."""
    console = Console(stderr=stderr, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


# The intel-management view's columns: header, record key. The first seven are the default.
INTEL_COLUMNS: dict[str, tuple[str, str]] = {
    "values": ("Values", "value"),
    "name": ("Name", "name"),
    "types": ("Types", "types"),
    "source": ("Source", "source"),
    "confidence": ("Confidence", "confidence"),
    "alerts": ("Alerts", "alerts"),
    "tags": ("Tags", "tags"),
    "tlp": ("TLP", "tlp"),
    "severity": ("Severity", "severity"),
    "kill_chain": ("Kill chain", "kill_chain_phases"),
    "valid_from": ("Valid from", "valid_from"),
    "valid_until": ("Valid until", "valid_until"),
    "revoked": ("Revoked", "revoked"),
    "created": ("Created", "created"),
    "modified": ("Modified", "modified"),
    "id": ("ID", "id"),
}
# The JSON keys and --sort names, accepted for the columns they fill.
COLUMN_ALIASES = {"value": "values", "type": "types", "kill_chain_phases": "kill_chain"}
DEFAULT_COLUMNS = ("values", "name", "types", "source", "confidence", "alerts", "tags")

# Object types in the order the intel-management view names them, with their labels.
OBJECT_LABELS = {
    "indicator": "Indicators",
    "attack-pattern": "Attack patterns",
    "identity": "Identities",
    "threat-actor": "Threat actors",
    "relationship": "Relationships",
}


# Control characters (C0, DEL, C1) and bidirectional overrides in stored data would drive the
# terminal (clear it, retitle it) or reorder what the analyst reads; they are shown escaped.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# A table is for reading: beyond this many rows it shows the first and says so (Rich lays out
# every row before printing, which takes seconds for tens of thousands).
TABLE_ROWS = 200


def printable(text: str) -> str:
    """``text`` with every character that could control the terminal shown as an escape."""
    return _UNSAFE.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cell_text(value: Any) -> Text:
    """A table cell as plain text: stored names and tags come from feeds, never markup."""
    return Text(printable(_cell(value)))


def fail(console: Console, exc: Exception, *, code: int = 2) -> typer.Exit:
    """Print an error as one plain line on ``console`` and return the exit to raise."""
    message = str(exc).split("\n(Background on this error", 1)[0].strip()
    console.print(Text.assemble(("error: ", "bold red"), printable(" ".join(message.split()))))
    return typer.Exit(code)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ":".join(str(v) for v in value.values())
    return str(value)


def _choose_columns(columns: str | None) -> list[str]:
    if not columns:
        return list(DEFAULT_COLUMNS)
    chosen = [name.strip().lower().replace(" ", "_") for name in columns.split(",") if name.strip()]
    chosen = [COLUMN_ALIASES.get(name, name) for name in chosen]
    unknown = [name for name in chosen if name not in INTEL_COLUMNS]
    if unknown:
        known = ", ".join(INTEL_COLUMNS)
        raise InputError("--columns", f"unknown column {', '.join(unknown)}; choose from {known}")
    return chosen


def _check_format(fmt: str, allowed: Sequence[str] = OUTPUT_FORMATS) -> None:
    if fmt not in allowed:
        raise InputError("--format", f"unknown format {fmt!r}; choose one of {', '.join(allowed)}")


def write_json(data: Any) -> None:
    """Write data as indented JSON on standard output."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_intel(
    console: Console, rows: list[dict[str, Any]], *, fmt: str, columns: str | None
) -> None:
    """The intel-management list as a table, JSON list or CSV."""
    _check_format(fmt)
    chosen = _choose_columns(columns)
    if fmt == "json":
        write_json(rows)
        return
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([INTEL_COLUMNS[name][0] for name in chosen])
        for row in rows:
            writer.writerow([_cell(row[INTEL_COLUMNS[name][1]]) for name in chosen])
        sys.stdout.write(out.getvalue())
        return
    table = Table(title=f"Indicators ({len(rows)})", title_justify="left")
    for name in chosen:
        table.add_column(INTEL_COLUMNS[name][0], overflow="fold")
    for row in rows[:TABLE_ROWS]:
        table.add_row(*(cell_text(row[INTEL_COLUMNS[name][1]]) for name in chosen))
    console.print(table)
    print_cut(console, len(rows), "indicators", "--format json or csv")


def print_cut(console: Console, total: int, what: str, everything: str) -> None:
    """Say that a table shows only its first TABLE_ROWS rows, and which option lists all."""
    if total > TABLE_ROWS:
        console.print(
            f"showing the first {TABLE_ROWS} of {total} {what}; {everything} lists them all",
            highlight=False,
        )


def print_records(console: Console, records: list[dict[str, Any]], *, fmt: str, title: str) -> None:
    """Plain records (same keys each) as a table or JSON list."""
    _check_format(fmt, ("table", "json"))
    if fmt == "json":
        write_json(records)
        return
    table = Table(title=f"{title} ({len(records)})", title_justify="left")
    for key in records[0] if records else ():
        table.add_column(key.replace("_", " ").capitalize(), overflow="fold")
    for record in records[:TABLE_ROWS]:
        table.add_row(*(cell_text(v) for v in record.values()))
    console.print(table)
    print_cut(console, len(records), title.lower(), "--format json")


def print_object_counts(console: Console, counts: dict[str, int], *, fmt: str) -> None:
    """Counts of stored objects per type, the view's five types first."""
    _check_format(fmt, ("table", "json"))
    ordered = {kind: counts.get(kind, 0) for kind in OBJECT_LABELS}
    ordered.update(sorted((k, v) for k, v in counts.items() if k not in OBJECT_LABELS))
    if fmt == "json":
        write_json(ordered)
        return
    table = Table(title="Stored objects", title_justify="left")
    table.add_column("Type")
    table.add_column("Count", justify="right")
    for kind, count in ordered.items():
        table.add_row(Text(OBJECT_LABELS.get(kind, kind)), str(count))
    console.print(table)


@contextmanager
def import_progress(console: Console, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress line counting imported records (quiet when output is for a script)."""
    if not enabled or not console.is_terminal:
        yield lambda _n: None
        return
    columns = (
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.completed} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("import", total=None)
        yield lambda n: progress.advance(task, n)


def print_import_report(console: Console, report: ImportReport, *, fmt: str) -> None:
    """The import's counts, then its first rejections and notices."""
    _check_format(fmt, ("table", "json"))
    if fmt == "json":
        write_json(report.as_dict())
        return
    console.print(
        f"created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}, "
        f"skipped as benign {report.skipped}",
        highlight=False,
    )
    for line in report.rejections:
        console.print(f"  rejected: {printable(line)}", highlight=False, markup=False)
    for line in report.notices:
        console.print(f"  notice: {printable(line)}", highlight=False, markup=False)
