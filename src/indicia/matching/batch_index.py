"""The batch engine's indicator index: compact Arrow tables, one per way of matching.

Entries are kept once (identifier, kind, validity, confidence, port) and each value table points
at them by entry number. Values are stored in their cheapest exact form: IPv4 as 32-bit integers,
CIDRs as integer ranges bucketed by /16 (IPv6 by /32) with their text, hashes as bytes, STIX
identifiers of the form ``type--uuid`` as 16 bytes (Arrow's UUID type). The tables are built by
DuckDB from the entries' columns, so no Python code runs per indicator beyond reading the
entries' attributes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from indicia.matching.fields import DOMAIN, EMAIL, HASH_KINDS, IPV4, IPV6, URL
from indicia.matching.types import IndicatorEntry

# Kind codes stored in the entry table; the order is part of the index format only.
KINDS: tuple[str, ...] = (IPV4, IPV6, DOMAIN, URL, EMAIL, *HASH_KINDS)
KIND_CODE: dict[str, int] = {kind: code for code, kind in enumerate(KINDS)}

# A CIDR spanning more buckets than this is checked by range alone (few such blocks exist).
MAX_BUCKETS_PER_CIDR = 256
IPV4_BUCKET_BITS = 16
IPV6_BUCKET_BITS = 32

_UUID_ID = r"^([a-z][a-z0-9-]*)--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
_IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}"


@dataclass
class BatchIndex:
    """The Arrow tables the batch plan joins against; table names are their DuckDB names."""

    entries: pa.Table
    id_types: pa.Table
    odd_ids: pa.Table
    ipv4_exact: pa.Table
    ipv4_cidr: pa.Table
    ipv4_wide: pa.Table
    ipv6_exact: pa.Table
    ipv6_cidr: pa.Table
    ipv6_wide: pa.Table
    domains: pa.Table
    urls: pa.Table
    emails: pa.Table
    hashes: pa.Table
    domain_label_counts: tuple[int, ...]

    def tables(self) -> dict[str, pa.Table]:
        """Every table by name, for registering with a DuckDB connection."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "domain_label_counts"
        }

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's Arrow buffers."""
        return sum(table.nbytes for table in self.tables().values())

    @property
    def count(self) -> int:
        """How many entries the index holds."""
        return int(self.entries.num_rows)


def build_index(
    entries: Iterable[IndicatorEntry], con: duckdb.DuckDBPyConnection | None = None
) -> BatchIndex:
    """Compile indicator entries into the batch index (on ``con`` if given, else a new one)."""
    raw = _entry_columns(list(entries))
    own = con is None
    con = con or duckdb.connect(config={"threads": 1})
    con.register("raw", raw)
    con.register("ipv6_parsed", _ipv6_columns(raw))

    tables = {name: con.sql(sql).to_arrow_table() for name, sql in _INDEX_SQL.items()}
    tables["entries"] = _compact_entries(tables["entries"])
    labels = tables["domains"].column("labels").unique().to_pylist()
    con.unregister("raw")
    con.unregister("ipv6_parsed")
    if own:
        con.close()
    return BatchIndex(**tables, domain_label_counts=tuple(sorted(labels)))


def _entry_columns(entries: list[IndicatorEntry]) -> pa.Table:
    """The entries as columns; validity times become microseconds since the epoch (UTC)."""
    return pa.table(
        {
            "entry": pa.array(range(len(entries)), pa.int32()),
            "indicator_id": pa.array([e.indicator_id for e in entries], pa.string()),
            "kind": pa.array([KIND_CODE.get(str(e.kind), -1) for e in entries], pa.int8()),
            "value": pa.array([e.value for e in entries], pa.string()),
            "valid_from": pa.array([_micros(e.valid_from) for e in entries], pa.int64()),
            "valid_until": pa.array([_micros(e.valid_until) for e in entries], pa.int64()),
            "confidence": pa.array([e.confidence for e in entries], pa.int8()),
            "port": pa.array([e.port for e in entries], pa.int32()),
        }
    )


def _micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _ipv6_columns(raw: pa.Table) -> pa.Table:
    """First and last address of each IPv6 entry as 16 big-endian bytes (they are rare)."""
    ipv6 = raw.filter(pc.equal(raw.column("kind"), KIND_CODE[IPV6]))
    entries = ipv6.column("entry").to_pylist()
    values = ipv6.column("value").to_pylist()
    rows = [
        (entry, ipaddress.IPv6Network(value, strict=False))
        for entry, value in zip(entries, values, strict=True)
    ]
    return pa.table(
        {
            "entry": pa.array([entry for entry, _ in rows], pa.int32()),
            "first": pa.array([n.network_address.packed for _, n in rows], pa.binary(16)),
            "last": pa.array([n.broadcast_address.packed for _, n in rows], pa.binary(16)),
            "prefix": pa.array([n.prefixlen for _, n in rows], pa.uint8()),
            "bucket": pa.array(
                [int(n.network_address) >> (128 - IPV6_BUCKET_BITS) for _, n in rows], pa.uint32()
            ),
        }
    )


def _compact_entries(table: pa.Table) -> pa.Table:
    """Store identifiers' UUIDs as 16 fixed bytes typed as UUIDs (DuckDB hands back blobs).

    The Arrow UUID type reaches DuckDB as its UUID type, whose text is the RFC 9562 form.
    """
    index = table.schema.get_field_index("id_uuid")
    storage = table.column("id_uuid").combine_chunks().cast(pa.binary(16))
    uuids = pa.ExtensionArray.from_storage(pa.uuid(), storage)
    return table.set_column(index, "id_uuid", uuids)


_IPV4_INT = " + ".join(
    f"(CAST(split_part(v, '.', {i + 1}) AS UBIGINT) << {24 - 8 * i})" for i in range(4)
)
_ID_TYPE = (
    f"CAST(dense_rank() OVER (ORDER BY regexp_extract(indicator_id, '{_UUID_ID}', 1)) AS UTINYINT)"
)

_IPV4_PARTS = f"""
    SELECT entry, value, CAST({_IPV4_INT} AS UINTEGER) AS first, prefix,
           CAST({_IPV4_INT} + (CAST(1 AS UBIGINT) << (32 - prefix)) - 1 AS UINTEGER) AS last
    FROM (
        SELECT entry, value, split_part(value, '/', 1) AS v,
               CAST(coalesce(nullif(split_part(value, '/', 2), ''), '32') AS INTEGER) AS prefix
        FROM raw
        WHERE kind = {KIND_CODE[IPV4]} AND regexp_full_match(split_part(value, '/', 1), '{IPV4_RE}')
    )
"""

_MIN_BUCKETED_V4 = IPV4_BUCKET_BITS - 8  # /8 spans 256 buckets of /16
_MIN_BUCKETED_V6 = IPV6_BUCKET_BITS - 8

_INDEX_SQL: dict[str, str] = {
    "entries": f"""
        SELECT entry, kind, valid_from, valid_until, confidence, CAST(port AS USMALLINT) AS port,
               {_ID_TYPE} AS id_type,
               unhex(nullif(replace(regexp_extract(indicator_id, '{_UUID_ID}', 2), '-', ''), ''))
                   AS id_uuid
        FROM raw ORDER BY entry
    """,
    "id_types": f"""
        SELECT DISTINCT {_ID_TYPE} AS id_type,
               regexp_extract(indicator_id, '{_UUID_ID}', 1) AS prefix
        FROM raw
    """,
    "odd_ids": f"""
        SELECT entry, indicator_id
        FROM raw
        WHERE NOT regexp_full_match(indicator_id, '{_UUID_ID}')
    """,
    "ipv4_exact": f"SELECT first AS value, entry FROM ({_IPV4_PARTS}) WHERE prefix = 32",
    "ipv4_cidr": f"""
        SELECT CAST(bucket AS USMALLINT) AS bucket, first, last, CAST(prefix AS UTINYINT) AS prefix,
               value AS text, entry
        FROM (SELECT *, unnest(range(first >> {32 - IPV4_BUCKET_BITS},
                                     (last >> {32 - IPV4_BUCKET_BITS}) + 1)) AS bucket
              FROM ({_IPV4_PARTS}) WHERE prefix < 32 AND prefix >= {_MIN_BUCKETED_V4})
    """,
    "ipv4_wide": f"""
        SELECT first, last, CAST(prefix AS UTINYINT) AS prefix, value AS text, entry
        FROM ({_IPV4_PARTS}) WHERE prefix < {_MIN_BUCKETED_V4}
    """,
    "ipv6_exact": """
        SELECT p.first AS value, raw.value AS text, p.entry
        FROM ipv6_parsed p JOIN raw ON raw.entry = p.entry
        WHERE p.prefix = 128 ORDER BY p.entry
    """,
    "ipv6_cidr": f"""
        SELECT CAST(p.bucket + p.offs AS UINTEGER) AS bucket, p.first, p.last, p.prefix,
               raw.value AS text, p.entry
        FROM (SELECT *, unnest(range(0, CAST(1 AS BIGINT) << ({IPV6_BUCKET_BITS} -
                                     least(prefix, {IPV6_BUCKET_BITS})))) AS offs
              FROM ipv6_parsed WHERE prefix < 128 AND prefix >= {_MIN_BUCKETED_V6}) p
        JOIN raw ON raw.entry = p.entry
        ORDER BY p.entry
    """,
    "ipv6_wide": f"""
        SELECT p.first, p.last, p.prefix, raw.value AS text, p.entry
        FROM ipv6_parsed p JOIN raw ON raw.entry = p.entry
        WHERE p.prefix < {_MIN_BUCKETED_V6} ORDER BY p.entry
    """,
    "domains": f"""
        SELECT value, CAST(len(string_split(value, '.')) AS UTINYINT) AS labels,
               entry
        FROM raw WHERE kind = {KIND_CODE[DOMAIN]}
    """,
    "urls": f"""
        SELECT value, entry
        FROM raw WHERE kind = {KIND_CODE[URL]}
    """,
    "emails": f"""
        SELECT lower(value) AS key, value, entry
        FROM raw WHERE kind = {KIND_CODE[EMAIL]}
    """,
    "hashes": f"""
        SELECT kind, unhex(lower(value)) AS value, entry
        FROM raw
        WHERE kind >= {KIND_CODE[HASH_KINDS[0]]}
    """,
}
