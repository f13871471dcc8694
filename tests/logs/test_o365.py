"""Microsoft 365 audit parser: real and documented samples (manifest), positions, hostile input."""

from __future__ import annotations

import json

import pytest

from indicia.logs import o365
from indicia.logs.base import Event, Unreadable
from indicia.logs.registry import get_format, sniff_format

from .manifest_check import DATA

FORMAT = o365.FORMAT


@pytest.mark.parametrize(
    ("client_ip", "address", "port"),
    [
        ("203.0.113.5:52345", "203.0.113.5", 52345),
        ("[2001:db8::1]:443", "2001:db8::1", 443),
        ("2001:db8::1", "2001:db8::1", None),
        ("::ffff:203.0.113.5", "::ffff:203.0.113.5", None),
        ("::ffff:203.0.113.5:8080", "::ffff:203.0.113.5", 8080),
        ("198.51.100.7", "198.51.100.7", None),
    ],
)
def test_client_ip_port_is_split_off(client_ip: str, address: str, port: int | None) -> None:
    record = {"CreationTime": "2024-01-01T00:00:00", "Operation": "x", "ClientIP": client_ip}
    [event] = FORMAT.parse([(1, json.dumps(record))], "audit.json")

    assert isinstance(event, Event)
    assert (event.fields["source.ip"], event.fields["client.ip"]) == (address, address)
    assert event.fields.get("source.port") == port


def test_mail_fields_from_record_and_recipient_list() -> None:
    record = {"CreationTime": "2024-01-01T00:00:00", "Operation": "Send", "Workload": "Exchange",
              "SenderAddress": "a@bad.example", "Recipients": "b@example.org; c@example.org",
              "Subject": "Hello"}  # fmt: skip
    [event] = FORMAT.parse([(1, json.dumps(record))], "audit.json")

    assert isinstance(event, Event)
    assert event.fields["email.from.address"] == "a@bad.example"
    assert event.fields["email.to.address"] == ["b@example.org", "c@example.org"]
    assert event.fields["email.subject"] == "Hello"


def test_management_api_array_document_keeps_record_lines() -> None:
    records = (DATA / "o365/o365-azuread-sts-logon_3records.log").read_text().splitlines()
    text = "[\n" + ",\n".join(records) + "\n]"
    results = list(FORMAT.parse(enumerate(text.splitlines(), start=1), "content.json"))

    assert [(r.line, r.fields["o365.record_index"]) for r in results] == [(2, 0), (3, 1), (4, 2)]


def test_quoted_csv_field_over_two_lines_is_one_row_at_its_first_line() -> None:
    lines = [
        (1, "TimeGenerated [UTC],Operation,UserId,Subject"),
        (2, '2024-01-01T00:00:00Z,Send,u@x,"first line'),
        (3, 'second line"'),
        (4, "2024-01-01T00:00:01Z,Send,v@x,plain"),
    ]
    results = list(FORMAT.parse(lines, "export.csv"))

    assert [(r.line, type(r).__name__) for r in results] == [(2, "Event"), (4, "Event")]
    assert isinstance(results[0], Event)
    assert results[0].fields["email.subject"] == "first line\nsecond line"
    assert results[0].timestamp is not None and results[0].timestamp.isoformat() == (
        "2024-01-01T00:00:00+00:00"
    )


JSON_GOOD = (DATA / "o365/o365-azuread-sts-logon_3records.log").read_text().splitlines()[0]
JSON_HOSTILE = {
    "truncated": JSON_GOOD[: len(JSON_GOOD) // 2],
    "binary junk": "\x00\x01\ufffd\x1b[31m\x07",
    "huge line": '{"a": "' + "Z" * 2_000_000 + '"}',
    "wrong format": "Jan  1 00:00:00 host sshd[1]: Failed password for root",
    "not an audit record": json.dumps({"event_type": "dns", "src_ip": "10.0.0.1"}),
    "json scalar": '"just a string"',
}


@pytest.mark.parametrize("text", JSON_HOSTILE.values(), ids=JSON_HOSTILE.keys())
def test_hostile_json_line_is_unreadable_at_its_position(text: str) -> None:
    results = list(FORMAT.parse([(1, JSON_GOOD), (2, text), (3, JSON_GOOD)], "audit.json"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (1, "Event"), (2, "Unreadable"), (3, "Event"),
    ]  # fmt: skip
    assert isinstance(results[1], Unreadable) and len(results[1].text) <= o365.MAX_TEXT


CSV_HEADER = "CreationDate,UserIds,Operations,AuditData"
CSV_GOOD = '2024-01-01T00:00:00Z,u@x,Send,"{""Operation"":""Send"",""Workload"":""Exchange""}"'
CSV_HOSTILE = {
    "truncated json": '2024-01-01T00:00:00Z,u@x,Send,"{""Operation"":""Se"',
    "binary junk": "\x00\x01\ufffd,\x1b[31m",
    "huge field": "2024-01-01T00:00:00Z,u@x,Send," + "Q" * 300_000,
    "too many fields": "a,b,c,d,e,f",
    "audit data not an object": "2024-01-01T00:00:00Z,u@x,Send,[1]",
}


@pytest.mark.parametrize("text", CSV_HOSTILE.values(), ids=CSV_HOSTILE.keys())
def test_hostile_csv_row_is_unreadable_at_its_position(text: str) -> None:
    lines = [(1, CSV_HEADER), (2, CSV_GOOD), (3, text), (4, CSV_GOOD)]
    results = list(FORMAT.parse(lines, "export.csv"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (2, "Event"), (3, "Unreadable"), (4, "Event"),
    ]  # fmt: skip
    assert isinstance(results[1], Unreadable) and len(results[1].text) <= o365.MAX_TEXT


def test_csv_without_audit_header_reports_every_row() -> None:
    lines = [(1, "a,b,c"), (2, "1,2,3"), (3, "4,5,6")]
    results = list(FORMAT.parse(lines, "other.csv"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (1, "Unreadable"), (2, "Unreadable"), (3, "Unreadable"),
    ]  # fmt: skip


def test_registry_knows_and_sniffs_the_format() -> None:
    assert get_format("o365") is FORMAT
    for name in ("o365/o365-sharepointfileop_first6.log", "o365/purview-audit-export.csv",
                 "o365/sentinel-officeactivity.csv"):  # fmt: skip
        sample = (DATA / name).read_text().splitlines()
        assert sniff_format(sample, name).name == "o365"


def test_sentinel_office_activity_json_uses_the_same_mapping() -> None:
    row = {
        "TimeGenerated": "2024-05-07T15:45:12.3456789Z",
        "OfficeWorkload": "SharePoint",
        "Operation": "FileDownloaded",
        "UserId": "jdoe@example.org",
        "ClientIP": "[2001:db8::7]:50000",
        "OfficeObjectId": "https://contoso.sharepoint.com/sites/x/a.docx",
    }
    text = json.dumps(row)

    assert sniff_format([text], "officeactivity.json").name == "o365"
    [event] = FORMAT.parse([(1, text)], "officeactivity.json")
    assert isinstance(event, Event)
    assert event.fields["event.provider"] == "SharePoint"
    assert event.fields["url.full"] == "https://contoso.sharepoint.com/sites/x/a.docx"
    assert (event.fields["source.ip"], event.fields["source.port"]) == ("2001:db8::7", 50000)
    assert event.timestamp is not None
    assert event.timestamp.isoformat() == "2024-05-07T15:45:12.345678+00:00"


def test_unclosed_quote_does_not_swallow_the_rows_after_it() -> None:
    lines = [(1, CSV_HEADER), (2, '2024-01-01T00:00:00Z,u@x,Send,"{""Operation'), (3, CSV_GOOD),
             (4, CSV_GOOD)]  # fmt: skip
    results = list(FORMAT.parse(lines, "export.csv"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (2, "Unreadable"), (3, "Event"), (4, "Event"),
    ]  # fmt: skip
