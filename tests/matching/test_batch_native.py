"""The C column helpers against their Arrow fallbacks and the address rules they stand for."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicia.matching import batch_families, batch_native, batch_values


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


# ---- the fast shapes: C against the regular expressions they stand for ----

_name_parts = st.sampled_from(
    ["a", "evil", "xn--", "xn--p1ai", "-a", "a-", "a_b", "_x", "0", "123", "A", "é", "", "a" * 63]
)
_names = st.one_of(
    st.lists(st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True), min_size=1, max_size=4).map(
        ".".join
    ),
    st.lists(_name_parts, min_size=1, max_size=5).map(".".join),
    st.text(alphabet="ab-_.0X", max_size=20),
    st.just("a." * 126 + "com"),
    st.just("a." * 127 + "co"),
)


@settings(max_examples=300)
@given(values=st.lists(st.one_of(st.none(), _names), max_size=30))
def test_fast_names_agree_with_the_regular_expressions(values: list[str | None]) -> None:
    array = pa.array(values, pa.string())
    native = batch_native.fast_names(array)
    assert native is not None
    expected = batch_families._fast_name(array).to_pylist()
    assert native.to_pylist() == [bool(value) for value in expected]


_url_parts = st.sampled_from(
    [
        "http://",
        "https://",
        "hxxp://",
        "a+b.c-d://",
        "HTTP://",
        "1http://",
        "://",
        "evil.example",
        "EVIL.example",
        "192.0.2.1",
        "010.0.0.1",
        "1.2.3.4.5",
        "xn--p1ai.ru",
        "a.123",
        "user@evil.example",
        "evil.example:8080",
        "[2001:db8::1]",
        "_a.b",
        "/",
        "?",
        "/a/b",
        "/./",
        "/../",
        "/.",
        "/..",
        "/.x",
        "?q=/..",
        "#frag",
        "%41",
        "/a b",
        "/~x",
        "/[x]",
        "/é",
        "'",
        "=",
        ";",
        "\\",
    ]
)
_schemes = st.sampled_from(["http://", "https://", "ftp://", "a+b.c-d://", "HTTP://", "1x://"])
_good_names = st.lists(
    st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True), min_size=2, max_size=4
).map(".".join)
_hosts = st.one_of(
    _good_names, _names, st.sampled_from(["192.0.2.1", "010.0.0.1", "1.2.3.4.5", ""])
)
_urls = st.one_of(
    st.builds(
        lambda scheme, host, rest: scheme + host + "".join(rest),
        _schemes,
        _hosts,
        st.lists(_url_parts, max_size=4),
    ),
    st.lists(_url_parts, min_size=1, max_size=5).map("".join),
    st.text(alphabet="htp:/.a?%", max_size=16),
)


@settings(max_examples=300)
@given(values=st.lists(st.one_of(st.none(), _urls), max_size=30), start=st.integers(0, 3))
def test_fast_urls_agree_with_the_regular_expressions(values: list[str | None], start: int) -> None:
    array = pa.array(["x"] * start + values, pa.string()).slice(start)
    native = batch_native.fast_urls(array)
    assert native is not None
    canon, host = batch_families._fast_urls(array)
    assert native[0].to_pylist() == canon.to_pylist()
    assert native[1].to_pylist() == host.to_pylist()


def test_fast_urls_add_the_root_path_and_give_the_host() -> None:
    array = pa.array(["https://evil.example", "http://192.0.2.1?x=1", "http://a.b/../c"])
    native = batch_native.fast_urls(array)
    assert native is not None
    assert native[0].to_pylist() == ["https://evil.example/", "http://192.0.2.1/?x=1", None]
    assert native[1].to_pylist() == ["evil.example", "192.0.2.1", None]


def _suffix_rows(table: pa.Table) -> list[tuple[object, ...]]:
    columns = [table.column(name).to_pylist() for name in ("row", "canon", "suffix", "k")]
    return sorted(
        (tuple(row) for row in zip(*columns, strict=True) if row[2] is not None), key=repr
    )


@settings(max_examples=200)
@given(
    names=st.lists(
        st.one_of(_names, st.sampled_from(["com.", "a..com", ".a.b", "x"])), max_size=20
    ),
    labels=st.lists(st.integers(1, 5), min_size=1, max_size=3),
)
def test_suffixes_agree_with_arrow_compute(names: list[str], labels: list[int]) -> None:
    table = pa.table({"row": list(range(len(names))), "canon": pa.array(names, pa.string())})
    native = batch_values.suffixes(table, labels)

    original = batch_values.native_suffixes
    batch_values.native_suffixes = lambda names, k: None  # type: ignore[assignment]
    try:
        computed = batch_values.suffixes(table, labels)
    finally:
        batch_values.native_suffixes = original

    assert _suffix_rows(native) == _suffix_rows(computed)


def test_suffixes_give_each_parent_domain_asked_for() -> None:
    table = pa.table({"row": [0, 1, 2], "canon": ["a.b.evil.example", "evil.example", "example"]})
    rows = _suffix_rows(batch_values.suffixes(table, [2, 3]))
    assert rows == sorted(
        [
            (0, "a.b.evil.example", "evil.example", 2),
            (0, "a.b.evil.example", "b.evil.example", 3),
            (1, "evil.example", "evil.example", 2),
        ],
        key=repr,
    )


def test_without_the_extension_the_engine_matches_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every odd-input case of the loader, matched once with the C paths and once with none.
    from test_batch_load import CASES, ENTRIES

    from indicia.matching import batch_load
    from indicia.matching.batch import BatchEngine

    engine = BatchEngine()
    engine.load(ENTRIES)
    text = "".join(
        case["text"] if case["text"].endswith("\n") else case["text"] + "\n" for case in CASES
    )
    path = tmp_path / "events.jsonl"
    path.write_text(text, "utf-8")

    native = engine.match_jsonl(path)
    monkeypatch.setattr(batch_native, "_native", None)
    monkeypatch.setattr(batch_load, "_SCANNER", None)
    plain = engine.match_jsonl(path)

    assert native.matches.num_rows > 5
    assert native.matches.to_pylist() == plain.matches.to_pylist()
    assert (native.rows, native.values, native.invalid_values, native.unreadable_lines) == (
        plain.rows,
        plain.values,
        plain.invalid_values,
        plain.unreadable_lines,
    )
