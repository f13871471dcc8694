"""Two column helpers of the batch plan in C (``_ecs_scan``), with Arrow compute fallbacks.

Where the extension was not built the fallbacks give the same values, more slowly.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from indicia.matching.batch_index import IPV4_RE

try:
    from indicia.matching import _ecs_scan as _native
except ImportError:  # pragma: no cover - setup.py builds it on install
    _native = None  # type: ignore[assignment]

# An Arrow array or chunked array.
ArrowValues = Any


def positions(count: int) -> pa.Array:
    """0, 1, ... count - 1 as 32-bit integers."""
    if _native is None:
        return pc.subtract(pc.cumulative_sum(pa.nulls(count, pa.int32()).fill_null(1)), 1)
    return pa.Array.from_buffers(pa.int32(), count, [None, pa.py_buffer(_native.positions(count))])


def ipv4_numbers(values: ArrowValues) -> pa.ChunkedArray:
    """The 32-bit number of each value that is a canonical dotted quad, else null.

    Canonical as the index stores addresses: four octets 0-255 without leading zeros.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    found = [_chunk_numbers(chunk.cast(pa.string())) for chunk in chunks]
    return pa.chunked_array(found, pa.uint32())


def _chunk_numbers(chunk: pa.Array) -> pa.Array:
    if _native is None:
        return _computed_numbers(chunk)
    validity, offsets, data = chunk.buffers()
    valid, numbers = _native.ipv4_numbers(
        len(chunk), chunk.offset, validity, offsets, data if data is not None else b""
    )
    return pa.Array.from_buffers(
        pa.uint32(), len(chunk), [pa.py_buffer(valid), pa.py_buffer(numbers)]
    )


def _computed_numbers(chunk: pa.Array) -> pa.Array:
    """The same numbers with Arrow compute (no extension)."""
    canonical = pc.fill_null(pc.match_substring_regex(chunk, f"^(?:{IPV4_RE})$"), False)
    octets = pc.split_pattern(pc.if_else(canonical, chunk, pa.scalar("0.0.0.0")), ".")
    number = pa.nulls(len(chunk), pa.uint32()).fill_null(0)
    for index in range(4):
        part = pc.cast(pc.list_element(octets, index), pa.uint32())
        number = pc.add(pc.multiply(number, pa.scalar(256, pa.uint32())), part)
    return pc.if_else(canonical, number, pa.scalar(None, pa.uint32()))
