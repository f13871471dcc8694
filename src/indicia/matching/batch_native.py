"""Column helpers of the batch plan in C (``_ecs_scan``).

Where the extension was not built, positions and numbers come from Arrow compute, and the
shape checks return None so that the caller runs its regular expressions: the same values,
more slowly.
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


def gather(values: ArrowValues, indices: ArrowValues) -> pa.Array:
    """``values[indices]``, from one chunk: a take across many chunks was measured at three to
    four times the cost of joining the chunks first and taking from that."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(indices, pa.ChunkedArray):
        indices = indices.combine_chunks()
    return values.take(indices)


def positions(count: int) -> pa.Array:
    """0, 1, ... count - 1 as 32-bit integers."""
    if _native is None:
        return pc.subtract(pc.cumulative_sum(pa.nulls(count, pa.int32()).fill_null(1)), 1)
    return pa.Array.from_buffers(pa.int32(), count, [None, pa.py_buffer(_native.positions(count))])


def ipv4_numbers(values: ArrowValues) -> pa.ChunkedArray:
    """The 32-bit number of each value that is a canonical dotted quad, else null.

    Canonical as the index stores addresses: four octets 0-255 without leading zeros.
    """
    found = [_chunk_numbers(chunk) for chunk in _chunks(values)]
    return pa.chunked_array(found, pa.uint32())


def _chunk_numbers(chunk: pa.Array) -> pa.Array:
    if _native is None:
        return _computed_numbers(chunk)
    valid, numbers = _native.ipv4_numbers(*_buffers(chunk))
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


def _buffers(chunk: pa.Array) -> tuple[int, int, Any, Any, Any]:
    validity, offsets, data = chunk.buffers()
    return len(chunk), chunk.offset, validity, offsets, data if data is not None else b""


def _strings(length: int, buffers: tuple[Any, Any, Any]) -> pa.Array:
    return pa.Array.from_buffers(pa.string(), length, [pa.py_buffer(part) for part in buffers])


def fast_names(values: ArrowValues) -> pa.ChunkedArray | None:
    """True where a value already is a canonical domain name of the fast shape.

    The C form of batch_families' regular-expression checks (FAST_DOMAIN_RE, no punycode, at
    most 253 characters, no all-digit top label); None without the extension, where the
    caller runs those checks itself.
    """
    if _native is None:
        return None
    found = []
    for chunk in _chunks(values):
        bits = _native.fast_names(*_buffers(chunk))
        found.append(pa.Array.from_buffers(pa.bool_(), len(chunk), [None, pa.py_buffer(bits)]))
    return pa.chunked_array(found, pa.bool_())


def fast_urls(values: ArrowValues) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """(canonical URL, host) of each URL of the fast shape (FAST_URL_RE with a fast host, no
    dot segments), null for any other; a URL without a path gets "/". None without the
    extension, where the caller runs the regular expressions itself.
    """
    if _native is None:
        return None
    canons, hosts = [], []
    for chunk in _chunks(values):
        canon, host = _native.fast_urls(*_buffers(chunk))
        canons.append(_strings(len(chunk), canon))
        hosts.append(_strings(len(chunk), host))
    return pa.chunked_array(canons, pa.string()), pa.chunked_array(hosts, pa.string())


def suffixes(names: ArrowValues, k: int) -> pa.ChunkedArray | None:
    """Each name's parent domain of ``k`` labels (the name itself when it has ``k``), null when
    it has fewer; None without the extension, where the caller uses Arrow compute."""
    if _native is None:
        return None
    found = [
        _strings(len(chunk), _native.suffixes(k, *_buffers(chunk))) for chunk in _chunks(names)
    ]
    return pa.chunked_array(found, pa.string())


def _chunks(values: ArrowValues) -> list[pa.Array]:
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return [chunk.cast(pa.string()) for chunk in chunks]
