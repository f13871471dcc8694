"""Hostile input for every parser of this task: nothing escapes ``parse``, no line is lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicia.logs import cef, commonsecuritylog, generic, syslog, umbrella, windows_dns
from indicia.logs.base import Event, LogFormat, Unreadable

FORMATS = [cef.FORMAT, syslog.FORMAT, windows_dns.FORMAT, umbrella.FORMAT,
           commonsecuritylog.FORMAT, generic.FORMAT]  # fmt: skip
# Line-for-line formats: each non-blank line gives exactly one result.
ONE_PER_LINE = {cef.NAME, syslog.NAME, generic.NAME}

JUNK = [
    "\x00\x01\x02\x03\xff\xfe",
    "\ufffd" * 50,
    "CEF:0|" + "|" * 3,
    "<" * 5000,
    "{" * 5000,
    '"' * 999,
    "A" * 1_000_000,
    "Jun 14 15:16:01",
    "4/21/2021 3:44:56 PM 0E24 PACKET",
    '"2024-05-02 09:15:41","truncated',
    "TenantId,DeviceVendor",
    "\u202e\u2066 bidi \u0000 nul",
]


def _check(fmt: LogFormat, lines: list[tuple[int, str]]) -> None:
    results = list(fmt.parse(lines, "hostile.log"))
    numbers = [number for number, text in lines if text.strip()]
    assert all(isinstance(r, Event | Unreadable) for r in results)
    assert all(r.line in numbers and r.path == "hostile.log" for r in results)
    assert [r.line for r in results] == sorted(r.line for r in results)
    if fmt.name in ONE_PER_LINE:
        assert [r.line for r in results] == numbers
    for result in results:
        if isinstance(result, Unreadable):
            assert result.reason and len(result.text) <= 1000


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_junk_lines(fmt: LogFormat) -> None:
    _check(fmt, list(enumerate(JUNK, start=1)))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=200), max_size=8))
def test_random_text(fmt: LogFormat, texts: list[str]) -> None:
    _check(fmt, list(enumerate(texts, start=1)))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_sniffers_never_raise(fmt: LogFormat) -> None:
    for junk in JUNK:
        assert fmt.sniff([junk]) in (True, False)


@pytest.mark.parametrize("digits", ["²", "٤٤٣", "1²"])
def test_unicode_digits_never_crash(digits: str) -> None:
    line = f"CEF:{digits}|V|P|1|1|n|{digits}|spt={digits} rt={digits} cnt={digits}"
    _check(cef.FORMAT, [(1, line)])
    _check(syslog.FORMAT, [(1, f'<1>date=2024-01-01 time=00:00:00 logid="1" srcport={digits}')])
    _check(windows_dns.FORMAT, [(1, f'{{"EventID": "{digits}", "EventData": {{"QNAME": "a."}}}}')])
    _check(generic.FORMAT, [(1, f'{{"source": {{"port": "{digits}"}}}}')])
