"""The batch engine: one columnar match plan over a whole input at once.

Events never become Python objects on the fast paths: :meth:`BatchEngine.match_table` takes an
Arrow table of ECS columns and :meth:`BatchEngine.match_jsonl` decodes ECS JSON lines straight
into columns (msgspec, :mod:`indicia.matching.batch_load`). :meth:`BatchEngine.match` serves the
:class:`~indicia.matching.types.Engine` protocol for events that already are objects. The plan
is in :mod:`indicia.matching.batch_values` (canonical values, Arrow compute) and
:mod:`indicia.matching.batch_join` (the joins against the index, DuckDB on one thread).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from indicia.arrowpool import system_allocator
from indicia.errors import InputError
from indicia.gctune import fewer_collections
from indicia.logs.base import Event
from indicia.matching.batch_families import Stacked
from indicia.matching.batch_index import KINDS, build_index
from indicia.matching.batch_join import IDS_SQL, VALUE_COLUMNS, candidates_sql, match_sql
from indicia.matching.batch_load import (
    FIRST_CHUNK_LINES,
    EventTimes,
    load_jsonl,
)
from indicia.matching.batch_native import gather, positions
from indicia.matching.batch_plan import FIELD_NAMES, SCALAR, Accessor, Column, wide_sql
from indicia.matching.batch_sources import arrow_accessors, events_table
from indicia.matching.batch_values import canonical_values, stack_values
from indicia.matching.types import IndicatorEntry, Match, MatchResult, Suppressed
from indicia.matching.warninglists import Warninglists

logger = logging.getLogger(__name__)

# The lines that decide which field spellings a JSON-lines file is first decoded with.
SAMPLE_LINES = FIRST_CHUNK_LINES
ENTRY_COLUMNS = ("kind", "valid_from", "valid_until", "confidence", "port", "id_type", "id_uuid")
MATCH_COLUMNS = ("row", "field", "kind", "matched_value", "indicator_id", "indicator_value")
# The candidates' columns a match is made of; names by number (field id, kind code).
_PICKED = ["row", "fid", "kind", "matched_value", "indicator_value", "specificity", "entry"]
_PICKED += ["id_type", "id_uuid"]
_FIELD_TEXT = pa.array(FIELD_NAMES, pa.string())
_KIND_TEXT = pa.array(KINDS, pa.string())


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
        with system_allocator():
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
        with system_allocator():
            return self._match_arrow(table, source, path, min_confidence)

    def _match_arrow(
        self, table: pa.Table, source: str, path: str, min_confidence: int
    ) -> pa.Table:
        flat = _flatten(table)
        self._con.register("events_src", flat)
        accessors, ports = arrow_accessors(flat.schema)
        logger.debug("matching %d rows of %s (%s)", flat.num_rows, path, source)
        columns = self._widen(accessors, ports, _arrow_source_sql(flat))
        wide = self._con.sql("FROM wide ORDER BY row").to_arrow_table()
        port_names = sorted(ports)
        events = EventTimes(wide.column("ts"), {n: wide.column(n) for n in port_names}, first=0)
        stacked = stack_values(wide, columns)
        return self._finish(stacked, flat.num_rows, min_confidence, (), events).matches

    def match_jsonl(
        self, path: str | Path, *, source: str = "ecs-json", min_confidence: int = 0
    ) -> BatchResult:
        """Match a file of ECS JSON lines; a match's row is its 1-based line number."""
        file = Path(path)
        if file.is_dir():
            raise InputError(str(file), "a folder, not a file of JSON lines")
        if not file.exists():
            raise InputError(str(file), "no such file")
        logger.debug("matching %s (%s)", file, source)
        # Decoding makes millions of short-lived tuples and lists: collect them less often.
        with fewer_collections(), system_allocator():
            return self._match_loaded(file, min_confidence)

    def _match_loaded(self, file: Path, min_confidence: int) -> BatchResult:
        loaded = load_jsonl(file)
        if loaded.unreadable:
            logger.warning(
                "%s: %d unreadable lines, first at line %d",
                file,
                len(loaded.unreadable),
                loaded.unreadable[0],
            )
        stacked = stack_values(loaded.table, loaded.columns)
        # One scalar column per field: an event holds at most one value per field.
        fields = [column.field for column in loaded.columns]
        repeats = len(set(fields)) < len(fields) or any(c.shape != SCALAR for c in loaded.columns)
        return self._finish(
            stacked, loaded.lines, min_confidence, loaded.unreadable, loaded.events, repeats
        )

    def _widen(
        self, accessors: Sequence[Accessor], ports: dict[str, str], source: str
    ) -> list[Column]:
        sql, columns = wide_sql(accessors, ports, source)
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE wide AS {sql}")
        return columns

    def _finish(
        self,
        stacked: dict[str, Stacked],
        rows: int,
        min_confidence: int,
        unreadable: tuple[int, ...],
        events: EventTimes,
        repeats: bool = True,
    ) -> BatchResult:
        """Canonicalise and join the stacked values; times and ports come from ``events``."""
        values = canonical_values(stacked, self.index.domain_label_counts)
        if values.invalid:
            logger.info(
                "%d of %d event values were not valid observables", values.invalid, values.total
            )
        candidates = self._candidates(values.tables)

        joined = self._join(candidates, events)
        joined = joined.append_column("i", positions(joined.num_rows))
        self._con.register("joined", joined)
        now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
        sql = match_sql(min_confidence, now_us, sorted(events.ports), repeats=repeats)
        kept = self._con.sql(sql).to_arrow_table()
        self._con.unregister("joined")
        matches = self._suppress(self._matches(joined, kept))
        result = BatchResult(matches, rows, values.total, values.invalid, unreadable)
        self.last_result = result
        return result

    def _candidates(self, tables: dict[str, pa.Table]) -> pa.Table:
        """(row, fid, matched_value, entry, indicator_value, specificity) of every candidate."""
        parts = []
        for name, sql in candidates_sql().items():
            values = tables[name].append_column("pos", positions(tables[name].num_rows))
            self._con.register(name, values)
            found = self._con.sql(sql).to_arrow_table()
            self._con.unregister(name)

            # The value's row, field and text are gathered by position (Arrow take).
            pos = found.column("pos")
            fallback = gather(values.column(VALUE_COLUMNS[name]), pos)
            parts.append(
                pa.table(
                    {
                        "row": gather(values.column("row"), pos).cast(pa.int32()),
                        "fid": gather(values.column("fid"), pos).cast(pa.int16()),
                        "matched_value": gather(values.column("canon"), pos).cast(pa.string()),
                        "entry": found.column("entry").cast(pa.int32()),
                        "indicator_value": pc.coalesce(found.column("indicator_value"), fallback),
                        "specificity": found.column("specificity").cast(pa.int32()),
                    }
                )
            )
        return pa.concat_tables(parts)

    def _join(self, candidates: pa.Table, events: EventTimes) -> pa.Table:
        """Each candidate with its entry's columns and its event's time and ports.

        Entry numbers are positions in the entry table and rows are positions of events, so
        both are gathered by position (Arrow take) rather than joined.
        """
        entries = self.index.entries.take(candidates.column("entry"))
        joined = candidates
        for name in ENTRY_COLUMNS:
            target = "entry_port" if name == "port" else name
            joined = joined.append_column(target, entries.column(name))
        times = events.times(candidates.column("row"))
        for name in times.column_names:
            joined = joined.append_column(name, times.column(name))
        return joined

    def _matches(self, joined: pa.Table, kept: pa.Table) -> pa.Table:
        """The kept candidates (``kept``: position, event time) as the match table, in order."""
        picked = joined.select(_PICKED).take(kept.column("i").combine_chunks())
        ids = picked.select(["entry", "id_type", "id_uuid"])
        self._con.register("picked", ids.append_column("k", positions(ids.num_rows)))
        indicator_ids = self._con.sql(IDS_SQL).to_arrow_table().column("indicator_id")
        self._con.unregister("picked")
        event_us = kept.column("event_us").combine_chunks()
        return pa.table(
            {
                "row": picked.column("row"),
                "field": gather(_FIELD_TEXT, picked.column("fid")),
                "kind": gather(_KIND_TEXT, picked.column("kind")),
                "matched_value": picked.column("matched_value"),
                "indicator_id": indicator_ids,
                "indicator_value": picked.column("indicator_value"),
                "specificity": picked.column("specificity"),
                "event_time": event_us.cast(pa.timestamp("us", tz="UTC")),
            }
        )

    def _suppress(self, matches: pa.Table) -> pa.Table:
        """Add the ``warninglist`` column: the list that withholds a match, or null."""
        if self.warninglists is None or matches.num_rows == 0:
            return matches.append_column("warninglist", pa.nulls(matches.num_rows, pa.string()))
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
