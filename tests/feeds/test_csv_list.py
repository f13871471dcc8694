"""The CSV reader on real feeds (Feodo Tracker, SUNBURST), field cases C022 and C023, and a
manifest of header, quoting and hostile-input cases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from indicia.feeds import read_file
from indicia.feeds.csv_list import read_csv

from .helpers import FEEDS, field_cases, load_manifest, split

CASES = load_manifest("csv_cases.json")["cases"]
FIELD_CASES = field_cases()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_manifest_case(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    path.write_bytes(case["text"].encode("utf-8"))
    got = split(read_csv(path))

    assert [[r.value, r.position.line] for r in got["values"]] == case["values"]
    if "fields" in case:
        assert got["values"][0].fields == case["fields"]
    expected = case.get("rejections", [])
    assert [r.position.line for r in got["rejections"]] == [line for line, _ in expected]
    for rejection, (_, reason) in zip(got["rejections"], expected, strict=True):
        assert re.search(reason, rejection.reason), rejection.reason
    if "notices" in case:
        assert [n.message for n in got["notices"]][: len(case["notices"])] == case["notices"]


def test_field_cases_present() -> None:
    assert sorted(FIELD_CASES) == ["C022", "C023"]


def _c022(case: dict[str, Any], tmp_path: Path) -> None:
    for name, suffix in (("file_a", ".csv"), ("file_b", ".csv"), ("file_a", ".txt")):
        path = tmp_path / f"{name}{suffix}"
        path.write_text(case["input"][name], encoding="utf-8")
        got = split(read_file(path))
        assert [r.value for r in got["values"]] == case["expected"][name]["values"], path
        assert len(got["values"]) == case["expected"][name]["indicators"]
        assert got["rejections"] == []


def _c023(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    prefix = bytes.fromhex(case["input"]["bytes_hex_prefix"].replace(" ", ""))
    path.write_bytes(prefix + case["input"]["text_after_bom"].encode("utf-8"))
    got = split(read_file(path))

    assert len(got["values"]) == case["expected"]["indicators"]
    assert [r.value for r in got["values"]] == ["203.0.113.9", "bad.example.org"]
    assert [r.fields for r in got["values"]] == [{"type": "ipv4-addr"}, {"type": "domain-name"}]
    assert got["rejections"] == got["notices"] == []


@pytest.mark.parametrize("case_id", sorted(FIELD_CASES))
def test_field_case(case_id: str, tmp_path: Path) -> None:
    {"C022": _c022, "C023": _c023}[case_id](FIELD_CASES[case_id], tmp_path)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("first", ["bad-one.example", "value", "# note"])
def test_bom_never_hides_the_first_line(bom: bytes, first: str, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(bom + f"{first}\nbad-two.example\n".encode())
    values = [r.value for r in split(read_csv(path))["values"]]

    assert values == (["bad-one.example"] if first == "bad-one.example" else []) + [
        "bad-two.example"
    ]


def test_feodo_tracker_blocklist() -> None:
    got = split(read_file(FEEDS / "csv" / "feodotracker_ipblocklist.csv"))
    text = (FEEDS / "csv" / "feodotracker_ipblocklist.csv").read_text("utf-8")
    footer = re.search(r"# END (\d+) entries", text)

    assert footer and len(got["values"]) == int(footer.group(1)) == 28
    first = got["values"][0]
    assert (first.value, first.position.line) == ("192.9.135.73", 10)
    assert first.fields == {
        "type": "ip",
        "valid_from": "2023-05-23 17:51:44",
        "dst_port": "1194",
        "c2_status": "online",
        "last_online": "2024-04-01",
        "malware": "Pikabot",
    }
    assert got["values"][-1].value == "172.233.221.61"
    assert got["rejections"] == []


def test_feodo_tracker_with_a_commented_header(tmp_path: Path) -> None:
    text = (FEEDS / "csv" / "feodotracker_ipblocklist.csv").read_text("utf-8")
    path = tmp_path / "feodo.csv"
    path.write_text(text.replace('"first_seen_utc"', '# "first_seen_utc"'), encoding="utf-8")
    got = split(read_file(path))

    assert len(got["values"]) == 28
    assert got["values"][0].fields["malware"] == "Pikabot"
    assert got["values"][0].position.line == 10


def test_sunburst_hashes_give_three_values_a_row_and_keep_the_verdict() -> None:
    got = split(read_file(FEEDS / "csv" / "Indicator_Release_Hashes.csv"))
    rows = (FEEDS / "csv" / "Indicator_Release_Hashes.csv").read_text("utf-8").splitlines()[1:]

    assert len(got["values"]) == 3 * len(rows) == 33
    assert [r.fields["type"] for r in got["values"][:3]] == ["sha256", "sha1", "md5"]
    benign = {r.value for r in got["values"] if r.fields["malware_family"] == "Benign"}
    assert "a25cadd48d70f6ea0c4a241d99c5241269e6faccb4054e62d16784640f8e53bc" in benign
    assert len(benign) == 3 * sum(1 for row in rows if ",Benign," in row)
    cert = got["values"][3]
    assert cert.fields["filename"] == "Solarwinds Worldwide, LLC"
    assert cert.fields["description"].startswith("Used to sign samples containing SUNBURST")


def test_sunburst_network_indicators_stay_defanged_for_the_importer() -> None:
    got = split(read_file(FEEDS / "csv" / "Indicator_Release_NBIs.csv"))

    first = got["values"][0]
    assert first.value == "6a57jk2ba1d9keg15cbg.appsync-api.eu-west-1.avsvmcloud[.]com"
    assert first.fields["type"] == "domain"
    assert first.fields["target"] == "freescanonline[.]com"
    assert first.fields["valid_from"] == "2020-06-13 09:20:41"
    assert {r.fields["type"] for r in got["values"]} == {"domain", "ip"}
    assert got["rejections"] == []


def test_a_ten_megabyte_line_is_one_rejection(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"value\na.example\n" + b"x" * (10 << 20) + b"\nb.example\n")
    got = split(read_csv(path))

    assert [r.value for r in got["values"]] == ["a.example", "b.example"]
    assert [(r.position.line, r.reason) for r in got["rejections"]] == [
        (3, "line longer than 1 MiB")
    ]


def test_latin1_bytes_are_rejected_by_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("value,name\na.example,caf\xe9\nb.example,ok\n".encode("latin-1"))
    got = split(read_csv(path))

    assert [r.value for r in got["values"]] == ["b.example"]
    [rejection] = got["rejections"]
    assert rejection.position.line == 2
    assert rejection.reason == "not UTF-8 (byte 0xe9 at column 14)"
