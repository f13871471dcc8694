"""Real published indicators (SUNBURST release, ThreatFox records) through parse and extract."""

from __future__ import annotations

import csv
import json

from indicia.observables import Kind, extract_iocs, normalize, parse_observable

from .conftest import DATA

SAMPLES = DATA / "observables"


def _rows(name: str) -> list[dict[str, str]]:
    with (SAMPLES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _network_cells() -> list[tuple[str, str]]:
    cells = []
    for row in _rows("Indicator_Release_NBIs.csv"):
        cells += [("domain", row[key]) for key in ("FQDN", "Target") if row[key]]
        cells += [("ip", row["IP"])] if row["IP"] else []
    return cells


def test_defanged_fqdns_and_ips_parse_to_their_refanged_values() -> None:
    cells = _network_cells()

    assert len(cells) > 20
    for kind, cell in cells:
        observable = parse_observable(cell)
        assert observable.kind is (Kind.DOMAIN if kind == "domain" else Kind.IPV4)
        assert observable.value == cell.replace("[.]", ".").lower()
        assert ("refanged" in observable.warnings) is ("[.]" in cell)


def test_extract_finds_every_network_indicator_of_the_release() -> None:
    text = (SAMPLES / "Indicator_Release_NBIs.csv").read_text("utf-8")
    expected = [cell.replace("[.]", ".").lower() for _, cell in _network_cells()]

    found = [item.value for item in extract_iocs(text)]
    assert found == expected


def test_hash_columns_normalise_under_their_algorithm() -> None:
    rows = _rows("Indicator_Release_Hashes.csv")
    kinds = {"SHA256": Kind.SHA256, "SHA1": Kind.SHA1, "MD5": Kind.MD5}

    assert rows
    for row in rows:
        for column, kind in kinds.items():
            observable = parse_observable(row[column], column)
            assert (observable.kind, observable.value) == (kind, row[column].lower())
            assert observable.display_type == f"file:{kind.value}"


def test_threatfox_records_normalise_with_their_ioc_type() -> None:
    lines = (SAMPLES / "threatfox-api-ndjson_first12.log").read_text("utf-8").splitlines()
    hints = {"ip:port": Kind.NETWORK_TRAFFIC, "url": Kind.URL}

    for line in lines:
        record = json.loads(line)
        observable = normalize(hints[record["ioc_type"]], record["ioc"])
        if record["ioc_type"] == "ip:port":
            address, _, port = record["ioc"].rpartition(":")
            assert (observable.value, observable.port) == (address, int(port))
            assert observable.stix_type == "network-traffic"
        else:
            assert observable.value.rstrip("/") == record["ioc"].rstrip("/")
