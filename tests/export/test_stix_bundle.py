"""Everything the tests create, exported as one bundle, passes the OASIS stix2-validator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from indicia.export.stix_bundle import export_bundle
from indicia.importer import Importer
from indicia.services import Classification, add_indicator, edit_indicator, revoke_indicators
from indicia.stix.markings import tlp_of
from indicia.store import Store

DATA = Path(__file__).parent.parent / "data"
HAND_MADE = [
    ("123.56.220.219", "ipv4-addr", "amber", ["lockheed:reconnaissance"]),
    ("2001:DB8::1", None, "green", ["mitre-attack:command-and-control"]),
    ("198.51.100.0/24", None, "clear", []),
    ("hxxps://evil[.]example.com/Login", None, "amber+strict", ["lockheed:delivery"]),
    ("Bücher.example", None, "red", []),
    ("phish@mail.example.org", None, None, []),
    ("44d88612fea8a8f36de82e1278abb02f", None, None, []),
    ("203.0.113.5:443", "network-traffic", None, []),
]


@pytest.fixture
def populated(sqlite_store: Store, tmp_path: Path) -> Store:
    for value, kind, tlp, chains in HAND_MADE:
        classification = Classification(
            name=f"hand-made {value}",
            tlp=tlp,
            kill_chains=chains,
            severity="high",
            confidence=70,
            tags=["unit"],
            source="analyst",
            valid_until=datetime(2030, 1, 1, tzinfo=UTC),
        )
        add_indicator(sqlite_store, value, classification, kind=kind)
    listing = tmp_path / "list.csv"
    listing.write_text("value,type,tags\nc2.example.net,domain-name,c2\n")
    files = [DATA / "feeds" / "stix" / "apt1.json", listing]
    Importer(sqlite_store).import_paths(files)
    first = next(sqlite_store.all_objects(["indicator"]))
    edit_indicator(sqlite_store, first["id"], Classification(severity="low"))
    revoke_indicators(sqlite_store, [first["id"]])
    return sqlite_store


def _errors(obj: dict[str, object]) -> list[str]:
    options = ValidationOptions(version="2.1", strict=False)
    result = validate_instance(obj, options)
    return [] if result.is_valid else [str(e) for e in result.errors]


def test_exported_bundle_passes_the_oasis_validator(populated: Store) -> None:
    bundle = export_bundle(populated).bundle
    objs = bundle["objects"]
    assert len(objs) > 80
    problems = {o["id"]: _errors(o) for o in objs}

    assert {k: v for k, v in problems.items() if v} == {}
    assert _errors(orjson.loads(orjson.dumps(bundle))) == []


def test_referenced_tlp_markings_travel_with_the_bundle(populated: Store) -> None:
    objs = export_bundle(populated).bundle["objects"]
    ids = {o["id"] for o in objs}

    refs = {r for o in objs for r in o.get("object_marking_refs", ())}
    assert refs <= ids


def test_tlp_ceiling_withholds_red_and_amber_strict(populated: Store) -> None:
    result = export_bundle(populated, max_tlp="amber")

    levels = {tlp_of(o) for o in result.bundle["objects"]}
    assert "red" not in levels and "amber+strict" not in levels
    assert result.withheld == 2
