"""The STIX file reader on real bundles, on a manifest of edge and hostile inputs, and on
generated bundles read through tiny buffers so every chunk and batch boundary is crossed."""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicia.errors import InputError
from indicia.feeds import json_stream, read_file
from indicia.feeds.stix_file import ObjectRun, read_stix, read_stix_runs, read_stix_stream

from .helpers import FEEDS, load_manifest, split

CASES = load_manifest("stix_cases.json")["cases"]


def _bytes(case: dict[str, Any]) -> bytes:
    return bytes.fromhex(case["hex"]) if "hex" in case else case["text"].encode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_manifest_case(case: dict[str, Any]) -> None:
    got = split(read_stix_stream(io.BytesIO(_bytes(case)), "case.json"))

    assert [record.obj.get("id") for record in got["stix"]] == case["ids"]
    numbers = [record.position.record for record in got["stix"]]
    assert numbers == sorted(set(numbers))
    if not got["rejections"]:
        assert numbers == list(range(1, len(numbers) + 1))
    if "notices" in case:
        assert [notice.message for notice in got["notices"]] == case["notices"]
    if "rejections" in case:
        assert len(got["rejections"]) == case["rejections"]
    expected = case.get("rejection")
    if expected is None:
        assert len(got["rejections"]) == case.get("rejections", 0)
        return
    [rejection] = got["rejections"]
    assert re.search(expected["reason"], rejection.reason), rejection.reason
    assert rejection.position.source == "case.json"
    assert rejection.position.record == expected["record"]
    for key in ("line", "byte"):
        if key in expected:
            assert getattr(rejection.position, key) == expected[key]


def test_the_apt1_report_bundle() -> None:
    got = split(read_file(FEEDS / "stix" / "apt1.json"))
    expected = json.loads((FEEDS / "stix" / "apt1.json").read_text("utf-8"))["objects"]

    assert [record.obj for record in got["stix"]] == expected
    assert len(got["stix"]) == 76
    assert sum(1 for r in got["stix"] if r.obj["type"] == "indicator") == 12
    assert [r.position.record for r in got["stix"]] == list(range(1, 77))
    assert got["rejections"] == got["notices"] == []


def test_objects_of_a_small_file_carry_their_lines() -> None:
    path = FEEDS / "stix" / "indicators-for-C2-with-COA.json"
    lines = path.read_text("utf-8").splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if line.strip() == "{"][1:]

    assert [r.position.line for r in read_stix(path)] == starts
    assert len(starts) == 8


def test_a_single_object_file_is_record_one_on_line_one() -> None:
    [record] = read_file(FEEDS / "stix" / "interop-objectmarking-test.json")

    assert record.obj["id"] == "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"
    assert str(record.position).endswith("interop-objectmarking-test.json:1 record 1")


def test_a_stix_20_bundle_is_read_with_a_notice() -> None:
    got = split(read_file(FEEDS / "stix" / "pymisp_misp2stix2_stix20_bundle.json"))

    assert [r.obj["type"] for r in got["stix"]] == ["identity", "report", "observed-data"]
    assert [n.message for n in got["notices"]] == ["bundle spec_version 2.0"]


def test_the_c2_bundle_keeps_every_object(tmp_path: Path) -> None:
    path = FEEDS / "stix" / "indicators-for-C2-with-COA.json"
    objects = json.loads(path.read_text("utf-8"))["objects"]

    assert [r.obj for r in read_stix(path)] == objects
    assert len(objects) == 8


def test_a_path_that_cannot_be_opened_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.json: cannot open"):
        list(read_stix(tmp_path / "missing.json"))


def test_deep_nesting_is_one_rejection_and_reading_goes_on() -> None:
    deep = "[" * 5000 + "]" * 5000
    text = f'[{{"id": "a"}}, {{"id": "b", "x": {deep}}}, {{"id": "c"}}]'
    got = split(read_stix_stream(io.BytesIO(text.encode()), "deep.json"))

    assert [r.obj["id"] for r in got["stix"]] == ["a", "c"]
    [rejection] = got["rejections"]
    assert rejection.reason == "invalid JSON: depth limit exceeded"
    assert rejection.position.record == 2


def test_a_ten_megabyte_string_is_read() -> None:
    big = "x" * (10 << 20)
    text = f'[{{"id": "a", "d": "{big}"}}, {{"id": "b"}}]'
    got = split(read_stix_stream(io.BytesIO(text.encode()), "big.json"))

    assert [len(r.obj.get("d", "")) for r in got["stix"]] == [10 << 20, 0]


def test_an_object_over_the_size_limit_stops_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_stream, "MAX_VALUE_BYTES", 1 << 20)
    text = '[{"id": "a"}, {"id": "b", "d": "' + "x" * (3 << 20) + '"}]'
    got = split(read_stix_stream(io.BytesIO(text.encode()), "huge.json"))

    assert [r.obj["id"] for r in got["stix"]] == ["a"]
    [rejection] = got["rejections"]
    assert rejection.reason.startswith("a value is larger than 1 MiB; reading stopped here")
    assert rejection.fatal
    assert rejection.position.record == 2


# -- generated bundles through tiny buffers ------------------------------------------------

_TEXT = st.text(alphabet=st.sampled_from('{}[]",:\\/ aé☃\n\t\x01'), max_size=12)
_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_OBJECTS = st.lists(st.dictionaries(_TEXT, _VALUES, max_size=5), max_size=12)
_LAYOUTS = st.sampled_from([None, 0, 2])  # json.dumps indent: compact, newlines, pretty


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects=_OBJECTS, indent=_LAYOUTS, ascii_only=st.booleans(), chunk=st.sampled_from([7, 64]))
def test_generated_bundles_read_back_exactly(
    objects: list[dict[str, Any]], indent: int | None, ascii_only: bool, chunk: int
) -> None:
    parts = [json.dumps(obj, indent=indent, ensure_ascii=ascii_only) for obj in objects]
    text = '{"type": "bundle", "id": "bundle--x", "objects": [\n' + ",\n".join(parts) + "\n]}"
    starts = [2 + sum(part.count("\n") + 1 for part in parts[:i]) for i in range(len(parts))]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "CHUNK_BYTES", chunk)
        patch.setattr(json_stream, "_BATCH_BYTES", chunk * 3)
        records = list(read_stix_stream(io.BytesIO(text.encode()), "gen.json"))

    assert [r.obj for r in records] == objects  # type: ignore[union-attr]
    assert [r.position.record for r in records] == list(range(1, len(objects) + 1))
    for record, start in zip(records, starts, strict=True):
        assert record.position.line in (None, start)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects=_OBJECTS, indent=_LAYOUTS, data=st.data())
def test_a_truncated_bundle_yields_every_whole_object_then_one_rejection(
    objects: list[dict[str, Any]], indent: int | None, data: st.DataObject
) -> None:
    parts = [json.dumps(obj, indent=indent) for obj in objects]
    head = '{"type": "bundle", "objects": ['
    text = head + ", ".join(parts) + "]}"
    ends = [len(head) + len(", ".join(parts[: i + 1])) for i in range(len(parts))]
    cut = data.draw(st.integers(0, len(text) - 1))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "CHUNK_BYTES", 16)
        patch.setattr(json_stream, "_BATCH_BYTES", 48)
        got = split(read_stix_stream(io.BytesIO(text[:cut].encode()), "cut.json"))

    whole = [obj for obj, end in zip(objects, ends, strict=True) if end <= cut]
    assert [r.obj for r in got["stix"]] == whole
    assert len(got["rejections"]) == 1
    assert got["rejections"][0].position.byte is not None


_ELEMENTS = st.lists(
    st.dictionaries(_TEXT, _VALUES, max_size=4) | st.lists(_VALUES, min_size=1, max_size=3),
    max_size=10,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elements=_ELEMENTS, indent=_LAYOUTS, chunk=st.sampled_from([7, 64]))
def test_array_elements_among_objects_are_rejected_in_place(
    elements: list[Any], indent: int | None, chunk: int
) -> None:
    # Batches are cut where the braces balance; an element that is an array (holding objects,
    # say) must still come out whole, as one rejection, never split into records.
    parts = [json.dumps(element, indent=indent) for element in elements]
    text = '{"type": "bundle", "objects": [\n' + ",\n".join(parts) + "\n]}"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "CHUNK_BYTES", chunk)
        patch.setattr(json_stream, "_BATCH_BYTES", chunk * 3)
        records = list(read_stix_stream(io.BytesIO(text.encode()), "mixed.json"))

    assert [r.position.record for r in records] == list(range(1, len(elements) + 1))
    for record, element in zip(records, elements, strict=True):
        if isinstance(element, dict):
            assert record.obj == element  # type: ignore[union-attr]
        else:
            assert record.reason == "a JSON array where a STIX object belongs"  # type: ignore[union-attr]


# -- runs of objects (the import worker's reader) ------------------------------------------


def _expanded(items: Iterable[Any]) -> list[Any]:
    """The records a run reader's output stands for, in order."""
    records: list[Any] = []
    for item in items:
        if isinstance(item, ObjectRun):
            records.extend(item.record(index) for index in range(len(item.values)))
        else:
            records.append(item)
    return records


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_runs_stand_for_the_records_read_one_by_one(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(_bytes(case))

    assert _expanded(read_stix_runs(path)) == list(read_stix(path))


def test_a_large_bundle_comes_in_runs_numbered_on(tmp_path: Path) -> None:
    objects = [{"type": "x-thing", "id": f"x-thing--{n}", "pad": "p" * 300} for n in range(9000)]
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}))

    runs = [item for item in read_stix_runs(path) if isinstance(item, ObjectRun)]

    assert len(runs) > 1 and sum(len(run.values) for run in runs) == 9000
    assert [run.first for run in runs[:2]] == [1, 1 + len(runs[0].values)]
    assert str(runs[1].position(0)) == f"{path} record {runs[1].first}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elements=_ELEMENTS, indent=_LAYOUTS, data=st.data())
def test_runs_of_mixed_and_cut_arrays_stand_for_the_records(
    elements: list[Any], indent: int | None, data: st.DataObject
) -> None:
    parts = [json.dumps(element, indent=indent) for element in elements]
    text = '{"type": "bundle", "objects": [\n' + ",\n".join(parts) + "\n]}"
    cut = data.draw(st.integers(1, len(text)))

    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "runs.json"
        path.write_text(text[:cut])
        patch.setattr(json_stream, "CHUNK_BYTES", 16)
        patch.setattr(json_stream, "_BATCH_BYTES", 48)
        assert _expanded(read_stix_runs(path)) == list(read_stix(path))
