"""Refanging: each defang mark, mixed marks, and text that must come back untouched."""

from __future__ import annotations

import pytest

from indicia.observables import refang
from indicia.observables.refang import refang_with_positions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hxxp://example.com/a", "http://example.com/a"),
        ("hxxps://example.com/a", "https://example.com/a"),
        ("HXXPS://example.com/a", "https://example.com/a"),
        ("hXXp://example.com", "http://example.com"),
        ("HxxPs://example.com", "https://example.com"),
        ("http[:]//example.com", "http://example.com"),
        ("hxxps[:]//cdn[.]example[.]com/x.bin", "https://cdn.example.com/x.bin"),
        ("hxxp[://]example.com", "http://example.com"),
        ("http(:)//example.com", "http://example.com"),
        ("example[.]com", "example.com"),
        ("example(.)com", "example.com"),
        ("example{.}com", "example.com"),
        ("example[dot]com", "example.com"),
        ("example(dot)com", "example.com"),
        ("example[DOT]com", "example.com"),
        ("example[ . ]com", "example.com"),
        ("jane[at]example.com", "jane@example.com"),
        ("jane[@]example.com", "jane@example.com"),
        ("jane(at)example.com", "jane@example.com"),
        ("jane(@)example.com", "jane@example.com"),
        ("http://example.com[/]path", "http://example.com/path"),
        ("http:[//]example.com", "http://example.com"),
        ("192[.]0[.]2[.]1", "192.0.2.1"),
        ("evil dot example dot com", "evil.example.com"),
        ("see www dot evil dot com now", "see www.evil.com now"),
        ("bad dot com", "bad.com"),
    ],
)
def test_defang_marks_are_undone(text: str, expected: str) -> None:
    assert refang(text) == (expected, True)


@pytest.mark.parametrize(
    "text",
    [
        "http://example.com/a",
        "192.0.2.1",
        "the dot com boom of 2000",
        "a dot in the text",
        "hxxpanda is not a scheme",
        "call(at_once) or list[0]",
        "ops@example.com (at work)",
        "www dot example dot notatld",
        "",
    ],
)
def test_text_without_defang_marks_is_unchanged(text: str) -> None:
    assert refang(text) == (text, False)


def test_positions_map_back_to_the_original() -> None:
    text = "at hxxps[:]//cdn[.]example[.]com/x today"
    result = refang_with_positions(text)

    start = result.text.index("https")
    end = result.text.index(" today")
    assert result.text[start:end] == "https://cdn.example.com/x"
    assert text[result.original_start(start) : result.original_end(end)] == (
        "hxxps[:]//cdn[.]example[.]com/x"
    )
