"""The batch engine: one columnar match plan run by DuckDB over a whole input at once.

Events never become Python objects on the fast paths: :meth:`BatchEngine.match_table` takes an
Arrow table of ECS columns and :meth:`BatchEngine.match_jsonl` reads ECS JSON lines straight into
DuckDB. :meth:`BatchEngine.match` serves the :class:`~indicia.matching.types.Engine` protocol for
events that already are objects. The plan is in :mod:`indicia.matching.batch_plan` (values in
columns) and :mod:`indicia.matching.batch_join` (the joins against the index).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from indicia.errors import InputError
from indicia.logs.base import Event
from indicia.matching.batch_canon import canonicalize_pending
from indicia.matching.batch_index import build_index
from indicia.matching.batch_join import match_sql
from indicia.matching.batch_plan import (
    FAM,
    FAMILIES,
    PYTHON_FAMILIES,
    Accessor,
    Column,
    quote,
    stack_sql,
    values_sql,
    wide_sql,
)
from indicia.matching.batch_sources import (
    UNREADABLE_SQL,
    any_present_sql,
    arrow_accessors,
    empty_lines_sql,
    events_table,
    jsonl_accessors,
    jsonl_source_sql,
    read_json_sql,
)
from indicia.matching.types import IndicatorEntry, Match, MatchResult, Suppressed
from indicia.matching.warninglists import Warninglists

logger = logging.getLogger(__name__)

SAMPLE_LINES = 1000
MATCH_COLUMNS = ("row", "field", "kind", "matched_value", "indicator_id", "indicator_value")
VALUE_FAMILIES = tuple(name for name in FAMILIES if name != "uhost")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The matches of one input and what was read: rows, values, skipped values, bad lines.

    ``matches`` has the columns of MATCH_COLUMNS plus ``specificity``, ``event_time`` and
    ``warninglist`` (the list that withholds the match, or null).
    """

    matches: pa.Table
    rows: int
    values: int
    invalid_values: int
    unreadable_lines: tuple[int, ...] = ()


class BatchEngine:
    """Match whole inputs against the loaded indicators with one DuckDB plan (one thread)."""

    def __init__(self, *, warninglists: Warninglists | None = None, threads: int = 1) -> None:
        self.warninglists = warninglists
        self.last_result: BatchResult | None = None
        self._con = duckdb.connect(config={"threads": threads})
        self._con.execute("SET TimeZone = 'UTC'")
        self.index = build_index((), self._con)
        self._register()

    def load(self, entries: Iterable[IndicatorEntry]) -> None:
        """Replace the engine's indicators with these."""
        self.index = build_index(entries, self._con)
        self._register()
        logger.info("batch index holds %d entries in %d bytes", self.index.count, self.index.nbytes)

    def match(self, events: Iterable[Event], *, min_confidence: int = 0) -> Iterator[MatchResult]:
        """Yield every match of the events, each event's matches most specific first."""
        batch = list(events)
        matches = self.match_table(events_table(batch), min_confidence=min_confidence)
        yield from self._results(matches, batch)

    def match_table(
        self,
        table: pa.Table,
        *,
        source: str = "-",
        path: str = "-",
        min_confidence: int = 0,
    ) -> pa.Table:
        """Match an Arrow table of ECS columns (dotted or nested); the matches, rows from 0.

        What was read (values, invalid values) is in :attr:`last_result`.
        """
        flat = _flatten(table)
        self._con.register("events_src", flat)
        accessors, ports = arrow_accessors(flat.schema)
        logger.debug("matching %d rows of %s (%s)", flat.num_rows, path, source)
        columns = self._widen(accessors, ports, _arrow_source_sql(flat), {})
        return self._finish(columns, ports, flat.num_rows, min_confidence, ()).matches

    def match_jsonl(
        self, path: str | Path, *, source: str = "ecs-json", min_confidence: int = 0
    ) -> BatchResult:
        """Match a file of ECS JSON lines; a match's row is its 1-based line number."""
        file = Path(path)
        if not file.is_file():
            raise InputError(str(file), "no such file")
        logger.debug("matching %s (%s)", file, source)
        lines, has_blank = _scan_lines(file)

        # DuckDB's JSON reader is the fast path, but its rows skip blank lines; a file with
        # blank lines, or whose rows do not add up, is read line by line instead.
        columns, ports = self._read_jsonl(str(file), fast=not has_blank)
        ((rows,),) = self._con.execute("SELECT count(*) FROM wide").fetchall()
        checked = self._check_empty_rows(str(file)) if not has_blank and rows == lines else None
        if checked is not None:
            unreadable = checked
        else:
            logger.info("%s: reading line by line to keep exact line numbers", file)
            columns, ports = self._read_jsonl(str(file), fast=False)
            unreadable = self._marked("unreadable")

        if unreadable:
            logger.warning(
                "%s: %d unreadable lines, first at line %d", file, len(unreadable), unreadable[0]
            )
        return self._finish(columns, ports, lines, min_confidence, unreadable)

    def _read_jsonl(self, path: str, *, fast: bool) -> tuple[list[Column], dict[str, str]]:
        """Fill ``wide`` from a JSON-lines file with only the field spellings it uses."""
        source: Callable[[str, int | None], str] = read_json_sql if fast else jsonl_source_sql
        accessors, ports = jsonl_accessors("" if fast else "j")

        # Read only the spellings a sample of the file uses; a line holding any other is
        # flagged in the same pass, and then the file is read again with every spelling.
        used = self._used_accessors(source(path, SAMPLE_LINES), accessors)
        unused = [a for a in accessors if a not in used]
        markers = {
            "unused": any_present_sql(unused),
            "empty": f"NOT ({any_present_sql(accessors)})",
        }
        if not fast:
            markers["unreadable"] = UNREADABLE_SQL
        columns = self._widen(used, ports, source(path, None), markers)
        if self._marked("unused"):
            logger.info("%s uses fields its first lines do not; reading every field", path)
            columns = self._widen(accessors, ports, source(path, None), markers)
        return columns, ports

    def _check_empty_rows(self, path: str) -> tuple[int, ...] | None:
        """Unreadable lines among the rows without values, or None if any row lost values.

        A line DuckDB's reader could not parse comes out as a row without values (here the row
        is the line number), so only those rows are read again, each line on its own.
        """
        empty = f"(SELECT row AS line_no FROM wide WHERE {quote('marker:empty')})"
        found = self._con.execute(empty_lines_sql(path, empty)).fetchall()
        if any(has_values for _, _, has_values in found):
            return None
        return tuple(int(line) for line, unreadable, _ in found if unreadable)

    def _used_accessors(self, sample: str, accessors: list[Accessor]) -> list[Accessor]:
        counts = ", ".join(f"count({a.expr})" for a in accessors)
        ((*found,),) = self._con.execute(f"SELECT {counts} FROM {sample}").fetchall()
        return [a for a, count in zip(accessors, found, strict=True) if count]

    def _widen(
        self,
        accessors: Sequence[Accessor],
        ports: dict[str, str],
        source: str,
        markers: dict[str, str],
    ) -> list[Column]:
        sql, columns = wide_sql(accessors, ports, source, markers)
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE wide AS {sql}")
        return columns

    def _marked(self, marker: str) -> tuple[int, ...]:
        rows = self._con.execute(
            f"SELECT row FROM wide WHERE {quote('marker:' + marker)} ORDER BY row"
        ).fetchall()
        return tuple(int(row) for (row,) in rows)

    def _finish(
        self,
        columns: list[Column],
        ports: dict[str, str],
        rows: int,
        min_confidence: int,
        unreadable: tuple[int, ...],
    ) -> BatchResult:
        values = {name: values_sql(name, columns, sorted(ports)) for name in VALUE_FAMILIES}
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE stack AS {stack_sql(values)}")
        self._canonicalize_rest()
        total, invalid = self._counts()

        now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
        sql = match_sql(self.index.domain_label_counts, min_confidence, now_us)
        matches = self._suppress(self._con.sql(sql).to_arrow_table())
        result = BatchResult(matches, rows, total, invalid, unreadable)
        self.last_result = result
        return result

    def _canonicalize_rest(self) -> None:
        """The Python pass: canonical forms of the distinct values SQL left open."""
        families = ", ".join(str(FAM[name]) for name in PYTHON_FAMILIES)
        pending = self._con.execute(
            f"SELECT DISTINCT fam, raw FROM stack WHERE canon IS NULL AND fam IN ({families})"
        ).fetchall()
        if not pending:
            return
        self._con.register("fixes", canonicalize_pending(pending))
        self._con.execute(
            "UPDATE stack SET canon = f.canon, ip4 = f.ip4, ip6 = f.ip6, ip6b = f.ip6b "
            "FROM fixes f WHERE stack.canon IS NULL AND stack.fam = f.fam AND stack.raw = f.raw"
        )
        self._con.unregister("fixes")

    def _counts(self) -> tuple[int, int]:
        # A URL's host row is not a value of its own.
        ((total, invalid),) = self._con.execute(
            "SELECT count(*), count(*) FILTER (WHERE canon IS NULL) FROM stack "
            f"WHERE fam <> {FAM['uhost']}"
        ).fetchall()
        if invalid:
            logger.info("%d of %d event values were not valid observables", invalid, total)
        return int(total), int(invalid)

    def _suppress(self, matches: pa.Table) -> pa.Table:
        """Add the ``warninglist`` column: the list that withholds a match, or null."""
        names: list[str | None]
        if self.warninglists is None or matches.num_rows == 0:
            names = [None] * matches.num_rows
        else:
            names = self._warninglist_names(matches)
        return matches.append_column("warninglist", pa.array(names, pa.string()))

    def _warninglist_names(self, matches: pa.Table) -> list[str | None]:
        # Look each distinct (kind, value) up once: many matches repeat the same value.
        assert self.warninglists is not None
        lists = self.warninglists
        cache: dict[tuple[str, str, str], str | None] = {}
        names: list[str | None] = []
        kinds = matches.column("kind").to_pylist()
        matched = matches.column("matched_value").to_pylist()
        stored = matches.column("indicator_value").to_pylist()
        for key in zip(kinds, matched, stored, strict=True):
            if key not in cache:
                cache[key] = lists.lookup(key[0], key[1]) or lists.lookup(key[0], key[2])
            names.append(cache[key])
        return names

    def _results(self, matches: pa.Table, events: list[Event]) -> Iterator[MatchResult]:
        columns = [matches.column(name).to_pylist() for name in (*MATCH_COLUMNS, "warninglist")]
        for row, field, kind, value, indicator_id, indicator_value, listed in zip(
            *columns, strict=True
        ):
            match = Match(indicator_id, kind, indicator_value, value, field, events[row])
            yield Suppressed(match, listed) if listed else match

    def _register(self) -> None:
        for name, table in self.index.tables().items():
            self._con.register(name, table)


def _flatten(table: pa.Table) -> pa.Table:
    """Flatten nested struct columns into ECS dotted names (``source`` -> ``source.ip``)."""
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table


def _arrow_source_sql(table: pa.Table) -> str:
    timestamp = '"@timestamp"' if "@timestamp" in table.schema.names else "NULL"
    return (
        f"(SELECT row_number() OVER () - 1 AS row, CAST({timestamp} AS VARCHAR) AS ts, * "
        "FROM events_src)"
    )


def _scan_lines(path: Path) -> tuple[int, bool]:
    """Lines in a file (a last line without a line end counts) and whether any is blank."""
    count, blank, tail = 0, False, b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 24):
            count += chunk.count(b"\n")
            # The previous chunk's last line is searched again, so no blank line is split.
            window = tail + chunk
            blank = blank or _BLANK_LINE.search(window) is not None
            tail = window[window.rfind(b"\n") :]
    if tail != b"\n":
        count += 1
        blank = blank or not tail[1:].strip(b" \t\r\f\v")
    return count, blank


# A line holding nothing but ASCII whitespace (the scan starts as if after a line end).
_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*\n")
