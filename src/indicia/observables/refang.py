"""Undo the defanging people apply to IOCs in reports (``hxxp``, ``[.]``, ``[at]``, ``[:]//``...).

Only marks that never occur in a live value are replaced: bracketed dots, ats, colons and
slashes, ``hxxp``/``hxxps`` before a colon, and `` dot `` between labels when the last label is a
known top-level domain. Text that was not defanged comes back unchanged.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from indicia.observables.names import is_known_tld

# Each alternative is one defang mark; the named group says what it stands for.
_MARKS = re.compile(
    r"(?P<scheme>\bh(?:xx|XX|Xx|xX)p(?P<s>[sS]?)(?=\s*(?:\[|\(|\{)?:))"
    r"|(?P<dot>[\[({]\s*(?:\.|dot)\s*[\])}])"
    r"|(?P<at>[\[({]\s*(?:@|at)\s*[\])}])"
    r"|(?P<colon>[\[({]\s*:(?P<colon_slashes>/*)\s*[\])}])"
    r"|(?P<slash>\[\s*(?P<slashes>/+)\s*\])"
    r"|(?P<spaced>\b[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)+\b)",
    re.IGNORECASE,
)
# Cheap first look (str methods beat a regex here): every mark holds one of these.
_TRIGGERS = ("[", "(", "{", "xp", "xP", "Xp", "XP", " ", "\t", "\n")
_SPACED_DOT = re.compile(r"\s+dot\s+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Refanged:
    """Refanged text with a map from its positions back to the positions in the original."""

    text: str
    original: str
    # One (new_start, new_end, old_start, old_end) per replaced mark, in order.
    spans: tuple[tuple[int, int, int, int], ...]

    @property
    def changed(self) -> bool:
        """Whether any mark was replaced."""
        return bool(self.spans)

    def original_start(self, index: int) -> int:
        """Map a start index in the refanged text to the original text."""
        at = bisect.bisect_right(self.spans, (index, 1 << 62)) - 1
        if at < 0:
            return index
        new_start, new_end, old_start, old_end = self.spans[at]
        return old_start if index < new_end else old_end + index - new_end

    def original_end(self, index: int) -> int:
        """Map an end index (exclusive) in the refanged text to the original text."""
        at = bisect.bisect_left(self.spans, (index, -1)) - 1
        if at < 0:
            return index
        new_start, new_end, old_start, old_end = self.spans[at]
        return old_end if index <= new_end else old_end + index - new_end


def refang(text: str) -> tuple[str, bool]:
    """Return the text with defang marks replaced, and whether anything changed."""
    result = refang_with_positions(text)
    return result.text, result.changed


def refang_with_positions(text: str) -> Refanged:
    """Refang the text and keep the map back to the original positions."""
    if not may_be_defanged(text):
        return Refanged(text, text, ())

    pieces: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    done = 0
    length = 0
    for match in _MARKS.finditer(text):
        replacement = _replacement(match, text)
        if replacement is None:
            continue
        between = text[done : match.start()]
        pieces.append(between)
        length += len(between)
        spans.append((length, length + len(replacement), match.start(), match.end()))
        pieces.append(replacement)
        length += len(replacement)
        done = match.end()

    if not spans:
        return Refanged(text, text, ())
    pieces.append(text[done:])
    return Refanged("".join(pieces), text, tuple(spans))


def may_be_defanged(text: str) -> bool:
    """Whether the text holds a character every defang mark needs (a cheap first look)."""
    # A plain loop: any() over a generator costs twice as much on this hot path.
    for trigger in _TRIGGERS:  # noqa: SIM110
        if trigger in text:
            return True
    return False


def _replacement(match: re.Match[str], text: str) -> str | None:
    kind = match.lastgroup
    if kind == "scheme":
        return "https" if match.group("s") else "http"
    if kind == "dot":
        return "."
    if kind == "at":
        return "@"
    if kind == "colon":
        return ":" + match.group("colon_slashes")
    if kind == "slash":
        return match.group("slashes")
    return _spaced_dots(match.group(), whole=match.group() == text.strip())


def _spaced_dots(words: str, *, whole: bool) -> str | None:
    # "evil dot example dot com" is clearly defanged; "the dot com boom" in prose is not. So the
    # words must be the whole value or hold two " dot "s, and end in a top-level domain.
    labels = _SPACED_DOT.split(words)
    if not whole and len(labels) < 3:
        return None
    if not is_known_tld(labels[-1].lower()):
        return None
    return ".".join(labels)
