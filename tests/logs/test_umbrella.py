"""Cisco Umbrella DNS CSV: the real SUNBURST beacon export, and headerless S3 rows."""

from __future__ import annotations

from typing import Any

import pytest

from indicia.logs import umbrella
from indicia.logs.base import Event, Unreadable

from .manifest_check import check_entry, manifest_cases, run_file


@pytest.mark.parametrize(("family", "entry"), manifest_cases("dns", "umbrella"))
def test_samples(family: str, entry: dict[str, Any]) -> None:
    check_entry(run_file(umbrella.parse, family, entry), entry)


def test_header_spellings_fold_onto_columns() -> None:
    lines = [
        (1, "Timestamp,Most Granular Identity,Internal IP,External IP,Action,QueryType,Domain"),
        (2, "2024-01-01 00:00:00,pc1,192.0.2.5,203.0.113.1,Blocked,1 (A),Bad.Example.COM."),
    ]
    (event,) = umbrella.parse(lines, "u.csv")
    assert isinstance(event, Event)
    assert event.fields["dns.question.name"] == "Bad.Example.COM"  # case kept; matcher folds
    assert event.fields["source.ip"] == "192.0.2.5"
    assert event.fields["event.action"] == "blocked"
    assert event.fields["umbrella.most_granular_identity"] == "pc1"


@pytest.mark.parametrize(
    "line", ["\x00\xff junk", '"2024-01-01 00:00:00"', "a,b,c,d,e,f,g,h,i", '"unclosed,quote']
)
def test_hostile_rows(line: str) -> None:
    (result,) = umbrella.parse([(3, line)], "u.csv")
    assert isinstance(result, Unreadable) and result.line == 3


def test_sniff() -> None:
    row = '"2024-05-02 09:15:41","a","a","10.0.0.1","203.0.113.7","Allowed","1 (A)","NOERROR","x."'
    assert umbrella.sniff([row])
    assert umbrella.sniff(["Timestamp,Policy Identity,Identities/0,InternalIp,ExternalIp,Action"])
    assert not umbrella.sniff(["TenantId,SourceSystem,DeviceVendor,DeviceProduct"])
