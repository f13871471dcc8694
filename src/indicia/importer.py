"""Import intelligence files into the store: streamed, validated, atomic per batch, re-runnable.

Each file is read by a reader in :mod:`indicia.feeds` into records. STIX objects are validated and
projected; list and CSV rows become indicators with the import's defaults. Records are written
in batches, each in one transaction. A record that breaks a rule is rejected with its position
and the rest go on; a break in the file itself (truncated JSON, say) discards the batch it falls
in, so nothing half-read is stored. Rows of lists get ids derived from their source and value,
and a fingerprint of their content, so importing the same file again changes nothing. A large
STIX file is read, validated and projected by worker processes (:mod:`indicia.import_workers`)
while this process writes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indicia.errors import IndiciaError, InputError, StixError
from indicia.feeds import read_file, sniff_format
from indicia.feeds.records import FeedRecord, Notice, Rejection, StixRecord, ValueRecord
from indicia.gctune import fewer_collections
from indicia.import_workers import Failed, can_fork, pipelined, source_from_notice, stix_fields
from indicia.observables import parse_observable
from indicia.stix.builders import new_indicator
from indicia.stix.killchain import parse_kill_chain
from indicia.stix.objects import validate_object
from indicia.stix.timestamps import parse_timestamp
from indicia.store import Prepared, Store, UpsertResult, prepare
from indicia.store.projection import as_prepared

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
# A STIX file this large is read, validated and projected in a worker process while this one
# writes; below it, starting the worker would cost more than it saves.
PIPELINE_BYTES = 20 << 20
MAX_REPORTED = 20
# Ids of rows from lists are uuid5 names under this namespace (fixed: changing it breaks re-runs).
ROW_NAMESPACE = uuid.UUID("6d1f2c4e-8a3b-5c7d-9e0f-1a2b3c4d5e6f")
FINGERPRINT = "x_indicia_fingerprint"


@dataclass(frozen=True, slots=True)
class ImportDefaults:
    """What the import applies where a record says nothing."""

    source: str | None = None
    tlp: str | None = None
    confidence: int | None = None
    valid_for: timedelta | None = None


@dataclass(slots=True)
class ImportReport:
    """Counts of one import, and the first rejections and notices with their positions."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # rows their own file marks benign or legitimate
    rejections: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def reject(self, where: str, reason: str) -> None:
        """Count a rejected record, keeping the first ones' positions and reasons."""
        self.rejected += 1
        if len(self.rejections) < MAX_REPORTED:
            self.rejections.append(f"{where}: {reason}")

    def notice(self, message: str) -> None:
        """Keep a notice (only the first ones)."""
        if len(self.notices) < MAX_REPORTED:
            self.notices.append(message)

    def absorb(self, result: UpsertResult) -> None:
        """Add what one written batch did."""
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        for object_id, reason in result.rejected:
            self.reject(object_id, reason)
        for message in result.notices:
            self.notice(message)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (``--format json``)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "rejections": self.rejections,
            "notices": self.notices,
        }


@dataclass(slots=True)
class _Batch:
    items: list[Prepared] = field(default_factory=list)
    rows: dict[str, tuple[ValueRecord, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items) + len(self.rows)


# What import_records takes: records from a reader, or what the worker made of them (one
# by one, or a run of consecutive objects it prepared).
_Incoming = FeedRecord | Prepared | Failed | list[Prepared]


class Importer:
    """Streams records from files into a store, batch by batch."""

    def __init__(
        self,
        store: Store,
        defaults: ImportDefaults | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        pipeline_bytes: int | None = PIPELINE_BYTES,
    ) -> None:
        self.store = store
        self.defaults = defaults or ImportDefaults()
        self.batch_size = batch_size
        self.progress = progress
        self.pipeline_bytes = pipeline_bytes  # None: never use a worker process
        self.report = ImportReport()

    def import_paths(self, paths: Iterable[str | Path], *, fmt: str = "auto") -> ImportReport:
        """Import every file; a file that cannot be read at all is a rejection, not a crash."""
        for path in paths:
            try:
                self._import_path(path, fmt)
            except InputError as exc:
                # The error already names its source; say the file once.
                self.report.reject(exc.source, exc.reason)
            except IndiciaError as exc:
                self.report.reject(str(path), str(exc))
        return self.report

    def _import_path(self, path: str | Path, fmt: str) -> None:
        size = _size_of(path)
        if size is None or not _is_stix(path, fmt):
            self.import_records(read_file(path, fmt=fmt), source_name=str(path))
            return

        # STIX records never read the store back, so their batches may share commits; a large
        # file into an empty store builds the observables' indexes once, at the end.
        large = self.pipeline_bytes is not None and size >= self.pipeline_bytes and can_fork()
        with self.store.bulk(defer_indexes=large):
            if not large:
                self.import_records(read_file(path, fmt="stix"), source_name=str(path))
                return
            with fewer_collections(), closing(pipelined(path, self.defaults.source)) as records:
                self.import_records(records, source_name=str(path))

    def import_records(self, records: Iterable[_Incoming], *, source_name: str = "-") -> None:
        """Import records from one source.

        A rejection the reader reports and then reads on is one bad record. A fatal one (a break
        in the file) the source ends with discards the unwritten batch before it; a bad last
        row of a CSV or a list is one bad record like any other.
        """
        source = self.defaults.source
        batch = _Batch()
        last_break: Rejection | None = None
        for record in records:
            last_break = None
            if type(record) is list:
                batch = self._add_run(batch, record)
            elif isinstance(record, Notice):
                source = source_from_notice(record) or source
                self.report.notice(str(record))
            elif isinstance(record, Rejection):
                self.report.reject(str(record.position), record.reason)
                last_break = record if record.fatal else None
            else:
                self._add(batch, record, source)
                if len(batch) >= self.batch_size:
                    self._flush(batch)
                    batch = _Batch()
        if last_break is not None:
            self._discard(batch, last_break)
        else:
            self._flush(batch)
        log.info("imported %s: %s", source_name, self.report.as_dict())

    def _add_run(self, batch: _Batch, run: list[Prepared]) -> _Batch:
        """Add objects the worker prepared, as if one by one: a full batch is written."""
        start = 0
        while start < len(run):
            room = max(self.batch_size - len(batch), 1)
            batch.items.extend(run[start : start + room])
            start += room
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch = _Batch()
        return batch

    def _add(self, batch: _Batch, record: _Incoming, source: str | None) -> None:
        if type(record) is Prepared:
            batch.items.append(record)  # the worker process validated and projected it
        elif isinstance(record, Failed):
            self.report.reject(record.where, record.reason)
        elif isinstance(record, StixRecord | ValueRecord):
            self._add_record(batch, record, source)

    def _add_record(
        self, batch: _Batch, record: StixRecord | ValueRecord, source: str | None
    ) -> None:
        try:
            if isinstance(record, StixRecord):
                batch.items.append(_prepare_stix(record.obj, source))
            else:
                self._add_row(batch, record, source)
        except IndiciaError as exc:
            self.report.reject(str(record.position), str(exc))

    def _add_row(self, batch: _Batch, record: ValueRecord, source: str | None) -> None:
        verdict = benign_verdict(record.fields)
        if verdict is not None:
            self.report.skipped += 1
            where = str(record.position)
            self.report.notice(f"{where}: {record.value!r} skipped: the file says {verdict!r}")
            return
        row_id, fingerprint = self._row_identity(record, source)
        batch.rows[row_id] = (record, fingerprint)

    def _discard(self, batch: _Batch, rejection: Rejection) -> None:
        """A break ends the file: the batch read before it is not written."""
        if len(batch):
            self.report.reject(
                str(rejection.position),
                f"{len(batch)} records read before this break in the same batch were not stored",
            )
            self.report.rejected += len(batch) - 1

    def _flush(self, batch: _Batch) -> None:
        if not len(batch):
            return
        items = batch.items + self._rows_to_objects(batch.rows)
        self.report.absorb(self.store.upsert(items))
        if self.progress:
            self.progress(len(batch))

    # -- rows of lists and CSV files -------------------------------------------------------

    def _row_identity(self, record: ValueRecord, source: str | None) -> tuple[str, str]:
        fields = record.fields
        observable = parse_observable(record.value, fields.get("type") or None)
        # Every rewrite of what a person typed is reported, not only refanging: a CIDR with
        # host bits set stands for a whole network, and ::ffff:a.b.c.d becomes a.b.c.d.
        for warning in observable.warnings:
            text = f"refanged {record.value!r} to {observable.value!r}"
            self.report.notice(f"{record.position}: {text if warning == 'refanged' else warning}")
        row_source = fields.get("source") or source or ""
        name = f"{row_source}|{observable.stix_type}|{observable.value}|{observable.port or ''}"
        row_id = f"indicator--{uuid.uuid5(ROW_NAMESPACE, name)}"
        content = sorted({**fields, "value": observable.value, "source": row_source}.items())
        digest = hashlib.sha256(repr((content, self.defaults)).encode()).hexdigest()[:32]
        return row_id, digest

    def _rows_to_objects(self, rows: dict[str, tuple[ValueRecord, str]]) -> list[Prepared]:
        if not rows:
            return []
        known = self.store.fingerprints(list(rows))
        prepared: list[Prepared] = []
        for row_id, (record, fingerprint) in rows.items():
            if row_id in known and known[row_id] == fingerprint:
                self.report.unchanged += 1
                continue
            try:
                obj = self._row_indicator(row_id, record, fingerprint, row_id in known)
                prepared.append(prepare(obj, source=obj.get("x_indicia_source")))
            except IndiciaError as exc:
                self.report.reject(str(record.position), str(exc))
        return prepared

    def _row_indicator(
        self, row_id: str, record: ValueRecord, fingerprint: str, exists: bool
    ) -> dict[str, Any]:
        fields, defaults = record.fields, self.defaults
        observable = parse_observable(record.value, fields.get("type") or None)
        valid_from = _when(fields.get("valid_from"), "valid_from") or datetime.now(UTC)
        valid_until = _when(fields.get("valid_until"), "valid_until")
        if valid_until is None and defaults.valid_for is not None:
            valid_until = valid_from + defaults.valid_for
        obj = new_indicator(
            [observable],
            name=fields.get("name") or None,
            description=fields.get("description") or None,
            indicator_types=_split(fields.get("indicator_types")) or ("malicious-activity",),
            kill_chain_phases=[parse_kill_chain(k) for k in _split(fields.get("kill_chain"))],
            severity=(fields.get("severity") or "").lower() or None,
            tlp=fields.get("tlp") or defaults.tlp,
            confidence=_confidence(fields.get("confidence"), defaults.confidence),
            labels=_split(fields.get("tags")),
            valid_from=valid_from,
            valid_until=valid_until,
            source=fields.get("source") or defaults.source,
        )
        obj["id"] = row_id
        obj[FINGERPRINT] = fingerprint
        if exists:
            obj["created"] = self.store.get(row_id)["created"]
        validate_object(obj)
        return obj


# Columns that describe the row itself, not a verdict on it.
_NOT_VERDICTS = frozenset(
    {"type", "name", "description", "source", "tags", "valid_from", "valid_until"}
)
_BENIGN_WORDS = ("benign", "legitimate", "allowlist", "whitelist", "known good", "false positive")


def benign_verdict(fields: dict[str, str]) -> str | None:
    """The cell by which a row's own file calls its value benign, if any.

    Published IOC lists mix in known-good items (the SUNBURST hash list carries the vendor's
    legitimate code-signing certificate and samples marked Benign); those must not become
    malicious indicators. A cell counts when it is, or starts with, one of the benign words.
    """
    for key, cell in fields.items():
        text = cell.strip().lower()
        if key not in _NOT_VERDICTS and text.startswith(_BENIGN_WORDS):
            return cell.strip()
    return None


def _split(text: str | None) -> list[str]:
    if not text:
        return []
    parts = text.replace("|", ";").replace(",", ";").split(";")
    return [part.strip() for part in parts if part.strip()]


def _when(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    text = text.strip()
    if "T" not in text:
        text = text.replace(" ", "T", 1)
    if len(text) == 10:
        text += "T00:00:00"
    if not text.endswith("Z") and "+" not in text[10:]:
        text += "Z"
    return parse_timestamp(text.replace("+00:00", "Z"), field=name)


def _confidence(text: str | None, default: int | None) -> int | None:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise StixError(
            f"{text!r} is not a whole number from 0 to 100", field="confidence"
        ) from None
    if not 0 <= value <= 100:
        raise StixError(f"{value} is outside 0 to 100", field="confidence")
    return value


def _prepare_stix(obj: dict[str, Any], source: str | None) -> Prepared:
    return as_prepared(stix_fields(obj, source))


def _size_of(path: str | Path) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None  # the reader reports it


def _is_stix(path: str | Path, fmt: str) -> bool:
    return fmt == "stix" or (fmt == "auto" and sniff_format(path) == "stix")
