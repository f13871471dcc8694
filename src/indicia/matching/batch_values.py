"""The batch plan's values: every event value stacked by family and made canonical, in Arrow.

Each family of values (addresses, names, URLs, e-mail addresses, hashes) is stacked from the
``wide`` columns into one long (row, fid, raw) set; :mod:`indicia.matching.batch_families`
makes each canonical. Names also get their parent domains (``v_suffix``), so the joins of
:mod:`indicia.matching.batch_join` are plain equality joins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from indicia.matching import batch_families as families
from indicia.matching.batch_families import Counts, Stacked
from indicia.matching.batch_native import suffixes as native_suffixes
from indicia.matching.batch_plan import FIELD_ID, LIST, Column, family

FAMILY_ORDER = ("ip", "domain", "url", "email", "md5", "sha1", "sha256", "sha512")


@dataclass
class Values:
    """The canonical values by way of matching, as Arrow tables, and what was read."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    total: int = 0
    invalid: int = 0


def build_values(wide: pa.Table, columns: Sequence[Column], labels: Sequence[int] = ()) -> Values:
    """Stack and canonicalise every value of ``wide`` (row, value columns) by family."""
    return canonical_values(stack_values(wide, columns), labels)


def stack_values(wide: pa.Table, columns: Sequence[Column]) -> dict[str, Stacked]:
    """Each family's values of ``wide`` (row, value columns) as one (row, fid, raw) stack."""
    rows = wide.column("row")
    return {name: _stack(wide, rows, columns, name) for name in FAMILY_ORDER}


def canonical_values(stacked: Mapping[str, Stacked], labels: Sequence[int] = ()) -> Values:
    """Canonicalise each family's stacked values into the tables the joins read.

    ``labels`` are the label counts of the domain indicators: each name is probed with its
    parent domains of those lengths (``v_suffix``).
    """
    counts = Counts()
    ips = families.ips(stacked["ip"], counts)
    names = families.names(stacked["domain"], counts)
    urls, hosts, host_ips = families.urls(stacked["url"], counts)
    tables = {
        "v_ip": pa.concat_tables([ips, host_ips]),
        "v_suffix": suffixes(pa.concat_tables([names, hosts]), labels),
        "v_url": urls,
        "v_email": families.emails(stacked["email"], counts),
        "v_hash": families.hashes(stacked, counts),
    }
    return Values(tables, counts.total, counts.invalid)


def suffixes(names: pa.Table, labels: Sequence[int]) -> pa.Table:
    """(row, fid, canon, suffix, k): each name's parent domain of k labels, for each k given.

    A domain indicator matches itself and every subdomain, on a label boundary (DESIGN.md,
    "Matching"), so notevil.example never meets evil.example.
    """
    canon = names.column("canon")
    dots = None
    parts = []
    for k in sorted(set(labels)):
        suffix = native_suffixes(canon, k)
        if suffix is not None:
            found = pc.is_valid(suffix)
            parts.append(_suffix_rows(names.filter(found), suffix.filter(found), k))
            continue
        dots = pc.count_substring(canon, ".") if dots is None else dots
        whole = pc.equal(dots, k - 1)
        parts.append(_suffix_rows(names.filter(whole), canon.filter(whole), k))
        deeper = pc.greater(dots, k - 1)
        tail = pc.extract_regex(canon.filter(deeper), rf"(?P<s>(?:[^.]+\.){{{k - 1}}}[^.]+)$")
        parts.append(_suffix_rows(names.filter(deeper), pc.struct_field(tail, [0]), k))
    if not parts:
        return _suffix_rows(names.slice(0, 0), canon.slice(0, 0), 0)
    return pa.concat_tables(parts)


def _suffix_rows(names: pa.Table, suffix: pa.ChunkedArray, k: int) -> pa.Table:
    depth = pa.nulls(len(suffix), pa.int32()).fill_null(k)
    return names.append_column("suffix", suffix).append_column("k", depth)


def _stack(wide: pa.Table, rows: pa.ChunkedArray, columns: Sequence[Column], name: str) -> Stacked:
    parts = [_column(wide, rows, column) for column in columns if family(column.field) == name]
    return Stacked(
        _concat([p.row for p in parts], pa.int32()),
        _concat([p.fid for p in parts], pa.int16()),
        _concat([p.raw for p in parts], pa.string()),
    )


def _concat(parts: list[pa.ChunkedArray], kind: pa.DataType) -> pa.ChunkedArray:
    # Chunks are kept as they are: concatenating would copy every value once more.
    return pa.chunked_array([chunk for part in parts for chunk in part.chunks], kind)


def _column(wide: pa.Table, rows: pa.ChunkedArray, column: Column) -> Stacked:
    values = wide.column(column.name)
    if column.shape == LIST:
        lists = values.combine_chunks()
        rows = pa.chunked_array([rows.combine_chunks().take(pc.list_parent_indices(lists))])
        values = pa.chunked_array([pc.list_flatten(lists)])
    if values.null_count:
        keep = pc.is_valid(values)
        values, rows = values.filter(keep), rows.filter(keep)
    fid = pa.nulls(len(values), pa.int16()).fill_null(FIELD_ID[column.field])
    return Stacked(rows.cast(pa.int32()), pa.chunked_array([fid]), values.cast(pa.string()))
