"""The ``indicia`` command line: thin commands, each calling one service function."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from indicia import __version__, services
from indicia.cli_output import (
    fail,
    import_progress,
    make_console,
    print_import_report,
    print_intel,
    print_object_counts,
    print_records,
    printable,
)
from indicia.errors import IndiciaError, InputError
from indicia.importer import ImportDefaults, Importer
from indicia.stix.markings import normalize_tlp
from indicia.stix.timestamps import parse_timestamp
from indicia.store import Store
from indicia.store.indicators import IndicatorQuery

app = typer.Typer(
    help="Indicia: threat intelligence as STIX 2.1, matched against security logs.",
    no_args_is_help=True,
    add_completion=False,
)
ioc_app = typer.Typer(
    help="Record, classify and manage indicators of compromise.", no_args_is_help=True
)
app.add_typer(ioc_app, name="ioc")

console = make_console()
errors = make_console(stderr=True)

EXIT_REJECTED = 1
EXIT_ERROR = 2


@contextmanager
def _store() -> Iterator[Store]:
    store = Store.open()
    try:
        yield store
    finally:
        store.close()


def _fail(exc: Exception) -> typer.Exit:
    return fail(errors, exc, code=EXIT_ERROR)


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    text = value if "T" in value else f"{value}T00:00:00Z"
    return parse_timestamp(text if text.endswith("Z") else f"{text}Z", field=name)


def _classification(**options: Any) -> services.Classification:
    options["valid_from"] = _when(options.get("valid_from"), "valid_from")
    options["valid_until"] = _when(options.get("valid_until"), "valid_until")
    for key in ("kill_chains", "tags", "indicator_types"):
        if options.get(key) == []:
            options[key] = None
    return services.Classification(**options)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"indicia {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    del version  # acted on by its eager callback, before any command is looked for


Name = Annotated[str | None, typer.Option(help="A short name for the indicator.")]
Description = Annotated[str | None, typer.Option(help="What it is and why it matters.")]
KillChain = Annotated[
    list[str],
    typer.Option("--kill-chain", help="CHAIN:PHASE, e.g. lockheed:reconnaissance; repeatable."),
]
Severity = Annotated[str | None, typer.Option(help="informational, low, medium, high or critical.")]
Tlp = Annotated[str | None, typer.Option(help="clear (white), green, amber, amber+strict or red.")]
Confidence = Annotated[int | None, typer.Option(min=0, max=100, help="0 to 100.")]
Tag = Annotated[list[str], typer.Option("--tag", help="A tag (STIX label); repeatable.")]
ValidFrom = Annotated[str | None, typer.Option(help="RFC 3339 time or YYYY-MM-DD (UTC).")]
ValidUntil = Annotated[str | None, typer.Option(help="RFC 3339 time or YYYY-MM-DD (UTC).")]
Source = Annotated[str | None, typer.Option(help="Where the intelligence came from.")]
IndicatorType = Annotated[
    list[str],
    typer.Option(
        "--indicator-type",
        help="malicious-activity, anomalous-activity, anonymization, benign, compromised, "
        "attribution or unknown; repeatable.",
    ),
]


@ioc_app.command("add")
def ioc_add(
    value: Annotated[
        str, typer.Argument(help="The IOC: an IP, CIDR, domain, URL, e-mail, hash or ip:port.")
    ],
    type_: Annotated[
        str | None, typer.Option("--type", help="Its kind, when it should not be guessed.")
    ] = None,
    name: Name = None,
    description: Description = None,
    kill_chain: KillChain = [],  # noqa: B006 - Typer reads the default, never mutates it
    severity: Severity = None,
    tlp: Tlp = None,
    confidence: Confidence = None,
    tag: Tag = [],  # noqa: B006
    valid_from: ValidFrom = None,
    valid_until: ValidUntil = None,
    source: Source = None,
    indicator_type: IndicatorType = [],  # noqa: B006
) -> None:
    """Record an indicator by hand and print its id (a value already recorded is refused)."""
    try:
        classification = _classification(
            name=name,
            description=description,
            kill_chains=kill_chain,
            severity=severity,
            tlp=tlp,
            confidence=confidence,
            tags=tag,
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            indicator_types=indicator_type,
        )
        notices: list[str] = []
        with _store() as store:
            obj = services.add_indicator(store, value, classification, kind=type_, notices=notices)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    for notice in notices:
        errors.print(f"notice: {printable(notice)}", highlight=False, markup=False)
    console.print(obj["id"], highlight=False)


@ioc_app.command("list")
def ioc_list(
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Observable type, e.g. ipv4-addr, file, file:sha256."),
    ] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only indicators with this tag.")] = None,
    tlp: Annotated[str | None, typer.Option(help="Only this TLP level.")] = None,
    min_confidence: Annotated[
        int | None, typer.Option(help="Only confidence at least this.")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Text in the value, name or id.")] = None,
    active: Annotated[
        bool, typer.Option("--active", help="Only valid now and not revoked.")
    ] = False,
    expired: Annotated[
        bool, typer.Option("--expired", help="Only past their valid_until.")
    ] = False,
    revoked: Annotated[bool, typer.Option("--revoked", help="Only revoked ones.")] = False,
    sort: Annotated[
        str, typer.Option(help="Column to sort by; prefix - for descending.")
    ] = "-modified",
    limit: Annotated[int | None, typer.Option(min=0, help="At most this many rows.")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many rows first.")] = 0,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to show.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """List indicators with the intel-management columns."""
    states = [
        name for name, on in (("active", active), ("expired", expired), ("revoked", revoked)) if on
    ]
    try:
        if len(states) > 1:
            raise IndiciaError("choose at most one of --active, --expired and --revoked")
        query = IndicatorQuery(
            type=type_,
            source=source,
            tag=tag,
            tlp=normalize_tlp(tlp) if tlp else None,
            min_confidence=min_confidence,
            search=search,
            state=states[0] if states else None,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        with _store() as store:
            rows = services.list_intel(store, query)
        print_intel(console, rows, fmt=fmt, columns=columns)
    except IndiciaError as exc:
        raise _fail(exc) from exc


@ioc_app.command("show")
def ioc_show(object_id: Annotated[str, typer.Argument(help="A STIX id.")]) -> None:
    """Print one object's current STIX JSON."""
    try:
        with _store() as store:
            obj = store.get(object_id)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


@ioc_app.command("edit")
def ioc_edit(
    indicator_id: Annotated[str, typer.Argument(help="The indicator's id.")],
    name: Name = None,
    description: Description = None,
    kill_chain: KillChain = [],  # noqa: B006
    severity: Severity = None,
    tlp: Tlp = None,
    confidence: Confidence = None,
    tag: Annotated[list[str], typer.Option("--tag", help="Replace the tags with these.")] = [],  # noqa: B006
    valid_from: ValidFrom = None,
    valid_until: ValidUntil = None,
    source: Source = None,
    indicator_type: IndicatorType = [],  # noqa: B006
) -> None:
    """Change an indicator's classification (a new STIX version; the old one is kept)."""
    try:
        classification = _classification(
            name=name,
            description=description,
            kill_chains=kill_chain,
            severity=severity,
            tlp=tlp,
            confidence=confidence,
            tags=tag,
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            indicator_types=indicator_type,
        )
        with _store() as store:
            before = store.get(indicator_id).get("modified")
            obj = services.edit_indicator(store, indicator_id, classification)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    if obj["modified"] == before:
        console.print(f"{obj['id']} unchanged: it already has these properties", highlight=False)
        return
    console.print(f"{obj['id']} modified {obj['modified']}", highlight=False, markup=False)


@ioc_app.command("tag")
def ioc_tag(
    ids: Annotated[list[str], typer.Argument(help="Indicator ids.")],
    add: Annotated[list[str], typer.Option("--add", help="Tag to add; repeatable.")] = [],  # noqa: B006
    remove: Annotated[list[str], typer.Option("--remove", help="Tag to remove; repeatable.")] = [],  # noqa: B006
) -> None:
    """Add or remove tags on indicators."""
    try:
        with _store() as store:
            changed = services.tag_indicators(store, ids, add=add, remove=remove)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    console.print(f"{len(changed)} of {len(ids)} indicators changed")


@ioc_app.command("revoke")
def ioc_revoke(ids: Annotated[list[str], typer.Argument(help="Indicator ids.")]) -> None:
    """Revoke indicators: they stay stored and stop matching."""
    try:
        with _store() as store:
            revoked = services.revoke_indicators(store, ids)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    console.print(f"{len(revoked)} revoked")


@ioc_app.command("delete")
def ioc_delete(ids: Annotated[list[str], typer.Argument(help="Object ids.")]) -> None:
    """Delete objects and their history outright."""
    try:
        with _store() as store:
            removed = services.delete_objects(store, ids)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    console.print(f"{removed} deleted")


@app.command("objects")
def objects_command(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Count the stored objects per type: indicators, attack patterns, identities, ..."""
    try:
        with _store() as store:
            counts = store.count_by_type()
    except IndiciaError as exc:
        raise _fail(exc) from exc
    print_object_counts(console, counts, fmt=fmt)


# Files a folder of intelligence often holds beside it that are not intelligence: read as a
# plain list, every line of a README would be a rejected record.
_DOCUMENTATION_SUFFIXES = frozenset({".md", ".markdown", ".rst", ".html", ".htm", ".pdf"})
_DOCUMENTATION_NAMES = frozenset({"readme", "license", "licence", "copying", "notice", "changelog"})


def _importable(path: Path, folder: Path) -> bool:
    """A regular file inside the folder: not hidden, not behind a link (which could lead out),
    not documentation (README, LICENSE, Markdown and the like)."""
    inside = path.relative_to(folder).parts
    if any(part.startswith(".") for part in inside):
        return False
    # README, LICENSE.txt, COPYING.md: by the whole name before its suffixes, so a feed named
    # notice_c2.txt is still read.
    stem = path.name.lower().split(".", 1)[0]
    if path.suffix.lower() in _DOCUMENTATION_SUFFIXES or stem in _DOCUMENTATION_NAMES:
        return False
    return path.is_file() and not any((folder / Path(*inside[: n + 1])).is_symlink()
                                      for n in range(len(inside)))  # fmt: skip


def _import_paths(given: list[Path]) -> list[Path]:
    """The files to import: each file named, and every file below each folder named (sorted)."""
    paths: list[Path] = []
    for path in given:
        if str(path) == "-":
            raise InputError("-", "import reads files, not standard input; save it to a file")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _importable(p, path))
            if not found:
                raise InputError(str(path), "the folder holds no file to import")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(str(path), "no such file")
    return paths


@app.command("import")
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="STIX bundles, Sentinel upload bodies, CSV or lists; or folders."),
    ],
    fmt: Annotated[
        str, typer.Option("--input-format", help="auto, stix, sentinel, csv or list.")
    ] = "auto",
    source: Source = None,
    tlp: Annotated[str | None, typer.Option(help="TLP for rows that name none.")] = None,
    confidence: Annotated[
        int | None, typer.Option(min=0, max=100, help="Confidence for rows that name none.")
    ] = None,
    valid_for: Annotated[
        int | None, typer.Option(min=1, help="Days a row stays valid when it names no valid_until.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Import files; re-running the same file changes nothing."""
    defaults = ImportDefaults(
        source=source,
        tlp=tlp,
        confidence=confidence,
        valid_for=timedelta(days=valid_for) if valid_for else None,
    )
    try:
        paths = _import_paths(files)
        with _store() as store, import_progress(console, enabled=output == "table") as advance:
            importer = Importer(store, defaults, progress=advance)
            report = importer.import_paths(paths, fmt=fmt)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    print_import_report(console, report, fmt=output)
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


@app.command("extract")
def extract_command(
    file: Annotated[str, typer.Argument(help="A text file, or - for standard input.")],
    add: Annotated[
        bool, typer.Option("--add", help="Record each IOC found as an indicator.")
    ] = False,
    source: Source = None,
    tlp: Tlp = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Find IOCs in free text (reports, e-mails, chat), defanged forms included."""
    try:
        text = (
            sys.stdin.read()
            if file == "-"
            else Path(file).read_text(encoding="utf-8-sig", errors="replace")
        )
    except OSError as exc:
        raise _fail(IndiciaError(f"{file}: {exc.strerror}")) from exc
    try:
        classification = services.Classification(source=source, tlp=tlp)
        if add:
            with _store() as store:
                result = services.extract_text(text, store=store, classification=classification)
        else:
            result = services.extract_text(text)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    records = [
        {"kind": item.kind.value, "value": item.value, "start": item.start, "end": item.end}
        for item in result.found
    ]
    print_records(console, records, fmt=fmt, title="IOCs found")
    if add:
        known = f", {len(result.known)} already recorded" if result.known else ""
        errors.print(f"{len(result.added)} indicators recorded{known}")


@app.command("demo")
def demo_command(
    intel: Annotated[
        list[Path], typer.Option("--intel", help="More intelligence files to import first.")
    ] = [],  # noqa: B006 - read, never mutated
) -> None:
    """Run the walkthrough on a fresh embedded store with bundled real sample data."""
    from indicia.cli_match import print_alerts, print_match_report
    from indicia.demo import run_demo
    from indicia.store import indicia_home

    try:
        result = run_demo(indicia_home(), intel)
    except IndiciaError as exc:
        raise _fail(exc) from exc
    report = result.imported
    console.rule("Indicia demo")
    console.print(f"store: {result.database}", highlight=False, markup=False)
    console.print(
        f"imported intelligence: created {report.created}, rejected {report.rejected}, "
        f"skipped as benign {report.skipped}",
        highlight=False,
    )
    console.print(f"recorded by hand: {', '.join(result.hand_made)}", highlight=False)
    console.rule("Intel management (most alerted first)")
    print_intel(console, result.intel, fmt="table", columns=None)
    console.rule("Retro-hunt over the bundled sample logs")
    matched = result.matched
    print_match_report(matched, "summary")
    print_alerts(matched.alerts)
    console.print(
        f"explore it: INDICIA_DB=sqlite:///{result.database} indicia ioc list", highlight=False
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for ``python -m indicia``."""
    app(args=list(argv) if argv is not None else None)


def _register_matching() -> None:
    from indicia import cli_match

    app.command("match")(cli_match.match_command)
    app.command("hunt")(cli_match.hunt_command)
    app.command("listen")(cli_match.listen_command)
    app.add_typer(cli_match.alerts_app, name="alerts")


_register_matching()
