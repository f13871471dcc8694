"""The registry: names, lazy loading, sniffing order on every sample file of this task."""

from __future__ import annotations

import pytest

from indicia.errors import InputError
from indicia.logs import registry
from indicia.logs.base import LogFormat

from .manifest_check import DATA

MINE = ("cef", "syslog", "windows-dns", "umbrella", "commonsecuritylog", "ecs-json")


@pytest.mark.parametrize("name", MINE)
def test_get_format(name: str) -> None:
    fmt = registry.get_format(name)
    assert isinstance(fmt, LogFormat) and fmt.name == name


@pytest.mark.parametrize(
    ("alias", "name"), [("windows_dns", "windows-dns"), ("generic", "ecs-json")]
)
def test_module_names_resolve(alias: str, name: str) -> None:
    assert registry.get_format(alias).name == name


def test_unknown_format_lists_known_names() -> None:
    with pytest.raises(InputError, match=r"unknown format 'nope'; known: .*cef.*syslog"):
        registry.get_format("nope")


def test_every_listed_module_is_a_format_module() -> None:
    assert len(registry.MODULES) == 11
    assert set(registry.MODULES) >= {"cef", "syslog", "windows_dns", "umbrella", "generic"}
    assert {"cef", "syslog", "windows-dns", "umbrella", "commonsecuritylog", "ecs-json"} <= set(
        registry.FORMATS
    )


def test_missing_module_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MODULES", ("cef", "not_landed_yet"))
    formats = registry._Formats()
    assert list(formats) == ["cef"]


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("cef/beats-cef.log", "cef"),
        ("cef/F5_ASM_ASimWebSession_RawLogs.txt", "cef"),
        ("cef/barracudaWAFCEF_first5.txt", "cef"),
        ("cef/sentinel-commonsecuritylog-solarigate.csv", "commonsecuritylog"),
        ("dns/umbrella-solarigate-beacon.csv", "umbrella"),
        ("dns/umbrella-s3-noheader.csv", "umbrella"),
        ("dns/windows-dns-debug.log", "windows-dns"),
        ("dns/windows-dns-analytical.jsonl", "windows-dns"),
        ("syslog/Linux_2k.log", "syslog"),
        ("syslog/cisco-asa-sample.log", "syslog"),
        ("syslog/fortinet-firewall-traffic.log", "syslog"),
        ("syslog/panos-globalprotect.log", "syslog"),
        ("generic/ecs.jsonl", "ecs-json"),
    ],
)
def test_sniff_samples(relative: str, name: str) -> None:
    path = DATA / relative
    lines = path.read_text(encoding="utf-8").splitlines()[:20]
    assert registry.sniff_format(lines, str(path)).name == name


def test_sniff_nothing_fits() -> None:
    with pytest.raises(InputError, match=r"x\.bin: no known log format fits"):
        registry.sniff_format(["\x00\x01 binary", "more"], "x.bin")
    with pytest.raises(InputError, match="empty input"):
        registry.sniff_format(["", "  "], "empty.log")


def test_broken_sniffer_counts_as_no(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(sample: list[str]) -> bool:
        raise RuntimeError("boom")

    bad = LogFormat("bad", "raises", explode, lambda lines, path: iter(()))
    monkeypatch.setattr(registry, "FORMATS", {"bad": bad, "cef": registry.get_format("cef")})
    assert registry.sniff_format(["CEF:0|a|b|c|d|e|f|x=y"], "-").name == "cef"
