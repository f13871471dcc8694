"""Importing files into the store: counts, re-runs, rejections with positions, atomic batches."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from indicia import import_workers
from indicia import importer as importer_module
from indicia.errors import InputError
from indicia.feeds import read_file
from indicia.feeds.stix_file import ObjectRun, read_stix_runs
from indicia.importer import ImportDefaults, Importer, benign_verdict
from indicia.store import Store
from indicia.store.indicators import IndicatorQuery, list_indicators, matchable_entries

DATA = Path(__file__).parent / "data"

FEEDS = DATA / "feeds"


def run(
    store: Store,
    *paths: Path,
    source: str | None = None,
    tlp: str | None = None,
    confidence: int | None = None,
    valid_for: int | None = None,
) -> dict[str, Any]:
    days = timedelta(days=valid_for) if valid_for else None
    defaults = ImportDefaults(source=source, tlp=tlp, confidence=confidence, valid_for=days)
    return Importer(store, defaults).import_paths(paths).as_dict()


def values(store: Store) -> list[str]:
    rows = list_indicators(store.engine, IndicatorQuery(sort="value"))
    return [row["value"] for row in rows]


def test_stix_report_bundle_imports_every_object(store: Store) -> None:
    bundle = FEEDS / "stix" / "apt1.json"
    expected = json.loads(bundle.read_text())["objects"]

    report = run(store, bundle)

    assert report["created"] == len(expected) and report["rejected"] == 0
    counts = store.count_by_type()
    for kind in {o["type"] for o in expected}:
        assert counts[kind] == sum(o["type"] == kind for o in expected)


def test_rerun_of_the_same_files_changes_nothing(store: Store, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("# C2\n198.51.100.7\nbad[.]example.net\n")
    files = (FEEDS / "stix" / "indicators-for-C2-with-COA.json", listing)
    first = run(store, *files, source="unit", valid_for=30)
    before = [store.get(r["id"]) for r in list_indicators(store.engine, IndicatorQuery())]

    second = run(store, *files, source="unit", valid_for=30)

    assert (second["created"], second["updated"]) == (0, 0)
    assert second["unchanged"] == first["created"]
    after = [store.get(r["id"]) for r in list_indicators(store.engine, IndicatorQuery())]
    assert after == before


def test_list_rows_take_the_import_defaults(store: Store, tmp_path: Path) -> None:
    listing = tmp_path / "ips.txt"
    listing.write_text("203.0.113.9\n")

    run(store, listing, source="Feed A", tlp="green", confidence=65, valid_for=10)

    [row] = list_indicators(store.engine, IndicatorQuery())
    assert (row["value"], row["source"], row["tlp"], row["confidence"]) == (
        "203.0.113.9",
        "Feed A",
        "green",
        65,
    )
    obj = store.get(row["id"])
    from indicia.stix.timestamps import parse_timestamp

    span = parse_timestamp(obj["valid_until"]) - parse_timestamp(obj["valid_from"])
    assert span == timedelta(days=10)


def test_malformed_bundle_names_the_record_and_stores_nothing(store: Store, tmp_path: Path) -> None:
    run(store, FEEDS / "stix" / "indicators-for-C2-with-COA.json")
    before = store.count_by_type()
    text = (FEEDS / "stix" / "apt1.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text(text[: len(text) // 2])

    report = run(store, broken)

    assert report["created"] == 0
    assert "broken.json" in report["rejections"][0]
    assert "record" in report["rejections"][0] or "line" in report["rejections"][0]
    assert "the rest of the file is not imported" in report["rejections"][0]
    assert store.count_by_type() == before


def test_csv_broken_row_and_invalid_address_are_rejected_with_lines(
    store: Store, tmp_path: Path
) -> None:
    run(store, FEEDS / "stix" / "indicators-for-C2-with-COA.json")
    before = {o["id"]: o for o in store.all_objects()}
    sheet = tmp_path / "iocs.csv"
    sheet.write_text(
        "value,type,confidence\n"
        "203.0.113.10,ipv4-addr,70\n"
        "203.0.113.300,ipv4-addr,70\n"
        "198.51.100.4\n"
        "c2.example.org,domain-name,90\n"
    )

    report = run(store, sheet)

    assert (report["created"], report["rejected"]) == (2, 2)
    rejections = report["rejections"]
    assert any(r.startswith(f"{sheet}:3") and "203.0.113.300" in r for r in rejections)
    assert any(r.startswith(f"{sheet}:4") and "fields" in r for r in rejections)
    after = {o["id"]: o for o in store.all_objects()}
    assert {k: after[k] for k in before} == before


def test_sentinel_upload_body_uses_its_source_system(store: Store, tmp_path: Path) -> None:
    indicator = json.loads((FEEDS / "stix" / "indicators-for-C2-with-COA.json").read_text())
    objs = [o for o in indicator["objects"] if o["type"] == "indicator"]
    body = tmp_path / "upload.json"
    body.write_text(json.dumps({"sourcesystem": "Contoso TI", "stixobjects": objs}))

    report = run(store, body)

    assert report["created"] == len(objs)
    sources = {r["source"] for r in list_indicators(store.engine, IndicatorQuery())}
    assert sources == {"Contoso TI"}


def test_benign_rows_of_a_published_list_are_not_made_malicious(store: Store) -> None:
    report = run(store, FEEDS / "csv" / "Indicator_Release_Hashes.csv", source="Mandiant")

    stored = set(values(store))
    # The vendor's legitimate code-signing certificate and the samples marked Benign stay out.
    assert "53f8dfc65169ccda021b72a62e0c22a4db7c4077f002fa742717d41b3c40f2c7" not in stored
    assert "a25cadd48d70f6ea0c4a241d99c5241269e6faccb4054e62d16784640f8e53bc" not in stored
    assert "32519b85c0b422e4656de6e6c41878e95fd95026267daab4215ee59c107d6c77" in stored
    assert report["skipped"] and report["rejected"] == 0


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"malware_family": "Benign"}, "Benign"),
        (
            {"role": "Legitimate SolarWinds code-signing certificate"},
            "Legitimate SolarWinds code-signing certificate",
        ),
        ({"malware_family": "SUNBURST", "role": "Installer"}, None),
        ({"description": "benign-looking loader"}, None),
    ],
)
def test_benign_verdict(fields: dict[str, str], verdict: str | None) -> None:
    assert benign_verdict(fields) == verdict


def test_defanged_list_values_are_refanged_and_reported(store: Store, tmp_path: Path) -> None:
    listing = tmp_path / "defanged.txt"
    listing.write_text("hxxps://evil[.]example.com/a\n")

    report = run(store, listing)

    assert values(store) == ["https://evil.example.com/a"]
    assert any("refanged" in n for n in report["notices"])


def test_stix20_bundle_is_rejected_not_half_read(store: Store) -> None:
    report = run(store, FEEDS / "stix" / "pymisp_misp2stix2_stix20_bundle.json")

    assert report["created"] == 0 and report["rejected"]
    assert any("2.0" in r for r in report["rejections"])


def test_revoked_indicators_do_not_reach_matching(store: Store, tmp_path: Path) -> None:
    bundle = json.loads((FEEDS / "stix" / "indicators-for-C2-with-COA.json").read_text())
    for obj in bundle["objects"]:
        if obj["type"] == "indicator":
            obj["revoked"] = True
            obj["modified"] = "2030-01-01T00:00:00.000Z"
    path = tmp_path / "revoked.json"
    path.write_bytes(orjson.dumps(bundle))

    run(store, FEEDS / "stix" / "indicators-for-C2-with-COA.json")
    assert list(matchable_entries(store.engine))
    run(store, path)

    assert list(matchable_entries(store.engine)) == []


# -- the worker-process pipeline for large STIX files ---------------------------------------

STIX = FEEDS / "stix"


def _indicator(n: int, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{n:08x}-1111-4111-8111-111111111111",
        "created": "2024-05-01T10:00:00.000Z",
        "modified": "2024-05-01T10:00:00.000Z",
        "name": f"generated {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[domain-name:value = 'host{n}.Example.ORG']",
        "pattern_type": "stix",
        "valid_from": "2024-05-01T10:00:00Z",
        "labels": ["bench"],
    }
    obj.update(changes)
    return obj


def _mixed_objects(count: int) -> list[dict[str, Any]]:
    """Indicators with faults of every kind the importer reports, spread over the file."""
    objects = [_indicator(n) for n in range(count)]
    objects[5] = _indicator(5, pattern="[ipv4-addr:value = '10.0.0.300']")
    objects[9] = _indicator(9, modified="2024-13-01T10:00:00Z")
    objects[12] = {"type": "indicator", "id": "indicator--nope"}
    # Repeats of earlier ids: a newer version, the same version, a revocation.
    objects.append(_indicator(1, modified="2024-06-01T10:00:00.000Z", name="renamed"))
    objects.append(_indicator(2))
    objects.append(_indicator(3, modified="2024-06-01T10:00:00.000Z", revoked=True))
    return objects


def _bundle(objects: list[dict[str, Any]]) -> bytes:
    body = b",\n".join(orjson.dumps(obj) for obj in objects)
    return b'{"type": "bundle", "id": "bundle--0", "objects": [\n' + body + b"\n]}\n"


def _case_file(tmp_path: Path, case: str) -> Path:
    """The STIX file of one comparison case (a test file, or one made from them)."""
    if case.endswith(".json"):
        return STIX / case
    path = tmp_path / f"{case}.json"
    if case == "truncated":
        text = (STIX / "apt1.json").read_bytes()
        path.write_bytes(text[: len(text) * 3 // 5])
    elif case == "bad-element":
        text = (STIX / "indicators-for-C2-with-COA.json").read_bytes()
        path.write_bytes(text.replace(b'"type": "indicator"', b'"type": indicator', 1))
    elif case == "large-mixed":
        path.write_bytes(_bundle(_mixed_objects(4000)))  # over 1 MiB: read in batches
    elif case == "large-truncated":
        path.write_bytes(_bundle(_mixed_objects(4000))[:-300_000])
    elif case == "array":
        path.write_bytes(b"[" + b",".join(orjson.dumps(o) for o in _mixed_objects(40)) + b"]")
    return path


def _contents(store: Store) -> dict[str, list[Any]]:
    """Everything the store holds, without the surrogate keys."""
    with store.engine.connect() as conn:
        objects = conn.exec_driver_sql("SELECT * FROM objects ORDER BY id").mappings().all()
        links = conn.exec_driver_sql(
            "SELECT o.id, b.kind, b.value, b.port FROM observables b "
            "JOIN objects o ON o.pk = b.object_pk ORDER BY 1, 2, 3, 4"
        ).all()
        versions = conn.exec_driver_sql("SELECT * FROM object_versions ORDER BY 1, 2").all()
    rows = [{k: v for k, v in row.items() if k != "pk"} for row in objects]
    return {
        "objects": rows,
        "observables": [tuple(r) for r in links],
        "versions": [tuple(r) for r in versions],
    }


PIPELINE_CASES = [
    ("apt1.json", 5000),
    ("apt1.json", 3),
    ("indicators-for-C2-with-COA.json", 2),
    ("interop-objectmarking-test.json", 5000),
    ("pymisp_misp2stix2_stix20_bundle.json", 5000),
    ("truncated", 4),
    ("bad-element", 5000),
    ("large-mixed", 700),
    ("large-truncated", 700),
    ("array", 7),
]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize(("case", "batch_size"), PIPELINE_CASES)
def test_pipeline_imports_exactly_what_the_reader_does(
    tmp_path: Path, case: str, batch_size: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_workers, "worker_count", lambda: workers)
    path = _case_file(tmp_path, case)
    serial = Store.open(f"sqlite:///{tmp_path / 'serial.db'}")
    piped = Store.open(f"sqlite:///{tmp_path / 'piped.db'}")
    try:
        expected = Importer(serial, batch_size=batch_size, pipeline_bytes=None)
        expected.import_records(read_file(path), source_name=str(path))
        importer = Importer(piped, batch_size=batch_size, pipeline_bytes=0)

        report = importer.import_paths([path]).as_dict()

        assert report == expected.report.as_dict()
        assert _contents(piped) == _contents(serial)
    finally:
        serial.close()
        piped.close()


def test_pipeline_counts_on_both_databases(store: Store, tmp_path: Path) -> None:
    path = _case_file(tmp_path, "large-mixed")

    report = Importer(store, batch_size=500, pipeline_bytes=0).import_paths([path]).as_dict()

    assert (report["created"], report["updated"], report["unchanged"]) == (3997, 2, 1)
    assert report["rejected"] == 3
    assert store.get(_indicator(3)["id"])["revoked"] is True
    assert len(store.history(_indicator(1)["id"])) == 2


def test_pipeline_is_used_only_above_its_size(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    real = importer_module.pipelined

    def spy(path: str | Path, source: str | None) -> Any:
        started.append(str(path))
        return real(path, source)

    monkeypatch.setattr(importer_module, "pipelined", spy)
    small = STIX / "indicators-for-C2-with-COA.json"
    Importer(store, pipeline_bytes=small.stat().st_size + 1).import_paths([small])
    Importer(store, pipeline_bytes=small.stat().st_size).import_paths([small])

    assert started == [str(small)]


def test_pipeline_worker_error_rejects_the_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker that handles the fourth part of the file fails there.
    real = import_workers.worker_parts

    def failing(path: str, source: str | None, index: int, count: int) -> Any:
        for number, pieces in enumerate(real(path, source, index, count)):
            if index + number * count == 3:
                raise InputError(path, "the disk went away")
            yield pieces

    path = tmp_path / "clean.json"
    path.write_bytes(_bundle([_indicator(n) for n in range(4000)]))
    parts = list(read_stix_runs(path))
    before = sum(len(part.values) for part in parts[:3] if isinstance(part, ObjectRun))
    monkeypatch.setattr(import_workers, "worker_parts", failing)

    report = Importer(store, batch_size=500, pipeline_bytes=0).import_paths([path]).as_dict()

    assert len(parts) > 4 and before > 500
    assert report["rejections"][-1] == f"{path}: {path}: the disk went away"
    assert report["created"] == before // 500 * 500  # the batches written before it stay


def test_pipeline_worker_crash_is_raised(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing(path: str, source: str | None, index: int, count: int) -> Any:
        yield from ()
        raise ValueError("a bug in the worker")

    monkeypatch.setattr(import_workers, "worker_parts", crashing)

    with pytest.raises(ValueError, match="a bug in the worker"):
        Importer(store, pipeline_bytes=0).import_paths([STIX / "apt1.json"])


def test_a_worker_that_dies_rejects_the_file(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dying(path: str, source: str | None, index: int, count: int) -> Any:
        yield from ()
        os._exit(3)

    monkeypatch.setattr(import_workers, "worker_parts", dying)
    path = STIX / "apt1.json"

    report = Importer(store, pipeline_bytes=0).import_paths([path]).as_dict()

    assert report["rejections"] == [f"{path}: the import worker stopped (exit code 3)"]
    assert report["created"] == 0


def test_every_rewrite_of_a_listed_value_is_reported(store: Store, tmp_path: Path) -> None:
    listing = tmp_path / "nets.txt"
    listing.write_text("198.51.100.77/24\n::ffff:198.51.100.60\n")

    report = run(store, listing)

    assert values(store) == ["198.51.100.0/24", "198.51.100.60"]
    notices = " | ".join(report["notices"])
    assert "host bits set in 198.51.100.77/24; kept 198.51.100.0/24" in notices
    assert "IPv4-mapped IPv6 address; kept its IPv4 address 198.51.100.60" in notices


def test_unreadable_file_is_named_once(store: Store, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"

    report = run(store, missing)

    assert report["rejections"] == [f"{missing}: cannot open: No such file or directory"]


def test_a_large_import_into_an_empty_store_ends_with_every_index(
    sqlite_store: Store, tmp_path: Path
) -> None:
    path = _case_file(tmp_path, "large-mixed")

    Importer(sqlite_store, batch_size=500, pipeline_bytes=0).import_paths([path])

    query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observables'"
    with sqlite_store.engine.connect() as conn:
        names = set(conn.exec_driver_sql(query).scalars())
    assert names == {"ix_observables_kind_value", "ix_observables_object"}


def _numbered(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--3c9f1e2d-7a6b-4c5d-8e9f-{n:012x}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("last-row.csv", "value,type\n198.51.100.1,ipv4-addr\n198.51.100.2,ipv4\n198.51.100.3\n"),
        ("nul.txt", "198.51.100.1\n198.51.100.2\n198.51.100.3\x00\n"),
        (
            "last-null.json",
            json.dumps({"type": "bundle", "objects": [_numbered(1), _numbered(2), None]}),
        ),
    ],
)  # fmt: skip
def test_a_bad_last_record_is_one_rejection_and_the_rest_is_stored(
    store: Store, tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    report = run(store, path)

    assert (report["created"], report["rejected"]) == (2, 1)
    assert values(store) == ["198.51.100.1", "198.51.100.2"]


@pytest.mark.parametrize("objects", ['"notalist"', "{}", "5", "null"])
def test_a_bundle_whose_objects_is_not_an_array_is_rejected(
    store: Store, tmp_path: Path, objects: str
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(f'{{"type": "bundle", "id": "bundle--1", "objects": {objects}}}')

    report = run(store, path)

    assert (report["created"], report["rejected"]) == (0, 1)
    assert "field 'objects' must be an array" in report["rejections"][0]
