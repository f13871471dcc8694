"""The C column helpers against their Arrow fallbacks and the address rules they stand for."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from indicia.matching import batch_native


def _reference(value: str | None) -> int | None:
    """A dotted quad in the form the index stores (no leading zeros), as its number."""
    if value is None:
        return None
    parts = value.split(".")
    if len(parts) != 4 or any(
        not p.isascii() or not p.isdigit() or (len(p) > 1 and p[0] == "0") for p in parts
    ):
        return None
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        return None


_values = st.lists(
    st.one_of(
        st.none(),
        st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2**32 - 1)),
        st.sampled_from(
            ["01.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "", "1..2.3", "٣.1.1.1"]
        ),
        st.text(alphabet="0123456789.", max_size=16),
    ),
    max_size=40,
)


@given(values=_values, start=st.integers(0, 5))
def test_ipv4_numbers_match_the_address_rules_and_the_fallback(
    values: list[str | None], start: int
) -> None:
    # A sliced array has an offset into its buffers: the helper must honour it.
    array = pa.array(["9.9.9.9"] * start + values, pa.string()).slice(start)
    expected = [_reference(value) for value in values]

    assert batch_native.ipv4_numbers(array).to_pylist() == expected
    assert batch_native._computed_numbers(array).to_pylist() == expected


def test_ipv4_numbers_of_a_chunked_array_keep_its_chunks() -> None:
    chunked = pa.chunked_array([["192.0.2.1", None], [], ["10.0.0.255"]], pa.string())
    numbers = batch_native.ipv4_numbers(chunked)
    assert numbers.to_pylist() == [3221225985, None, 167772415]
    assert [len(chunk) for chunk in numbers.chunks] == [2, 0, 1]


def test_positions_count_from_zero() -> None:
    assert batch_native.positions(5).to_pylist() == [0, 1, 2, 3, 4]
    assert batch_native.positions(0).to_pylist() == []
    assert batch_native.positions(5).type == pa.int32()
