"""Find IOCs in free text (reports, chats, pasted mail), defanged or not.

The text is refanged first and every find is mapped back to its place in the original. A
domain or address inside a found URL or e-mail address is not reported again; a hash inside
a domain name (``<md5>.example.com``) is not a file hash. A domain needs a top-level label
known to IANA, so file names such as ``stage2.bin`` or ``run.ps1`` are not domains.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from indicia.errors import ObservableError
from indicia.observables.hashes import HASH_LENGTHS
from indicia.observables.kinds import Kind
from indicia.observables.names import is_known_tld, normalize_domain, normalize_email
from indicia.observables.net import normalize_ipv4, normalize_ipv6
from indicia.observables.refang import refang_with_positions
from indicia.observables.urls import normalize_url

_URL_START_RE = re.compile(
    r"(?<![A-Za-z0-9])(?:https?|ftps?|sftp|wss?|ssh|smb|tcp|udp|telnet|rdp|ircs?)://",
    re.IGNORECASE,
)
# Characters that never belong to a URL in running text (RFC 3986 excludes them; curly quotes
# and guillemets are the usual typographic delimiters).
_URL_BODY_RE = re.compile(r"[^\s<>\"`{}|\\^\x00-\x1f\x7f“”‘’«»]*")
_TRAILING = ".,;:!?'\""
# A URL right after one of these ends where the same character comes again ('...' or CSV).
_CLOSERS = {"'": "'", '"': '"', ",": ",", "`": "`"}

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[\w%+-][\w.%+-]*@(?:[\w-]{1,63}\.)+[\w-]{2,63}(?![\w-]|\.[\w-])"
)
_DOMAIN_RE = re.compile(r"(?<![\w@.\-/\\])(?:[\w-]{1,63}\.)+[\w-]{2,63}(?![\w-]|\.[\w-])")
_IPV4_RE = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?:/[0-9]{1,3})?(?!\w|\.[0-9])")
_IPV6_RE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?"
    r"(?:/[0-9]{1,3})?(?![\w:]|\.[0-9A-Za-z])"
)
_HASH_RE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,128}(?![0-9A-Za-z])")

Span = tuple[int, int]
PositionMap = Callable[[int], int]
Normalizer = Callable[[str], str]
Find = tuple[int, int, Kind, str]


@dataclass(frozen=True, slots=True)
class Extracted:
    """One IOC found in text: canonical value and where its raw form sits in the input."""

    kind: Kind
    value: str
    start: int
    end: int
    raw: str


def extract_iocs(text: str) -> list[Extracted]:
    """Return every IOC occurrence in the text, in order of position (repeats kept)."""
    refanged = refang_with_positions(text)
    work = refanged.text

    urls = list(_find_urls(work))
    url_spans = _spans(urls)
    emails = [find for find in _find_emails(work) if not _inside(find, url_spans)]
    containers = _spans(urls + emails)
    domains = list(_find_domains(work))
    names = _spans(domains)
    finds = urls + emails
    finds += [find for find in domains if not _inside(find, containers)]
    finds += [find for find in _find_ips(work) if not _inside_any(find, containers, names)]
    finds += [find for find in _find_hashes(work) if not _inside_any(find, names, _spans(emails))]

    finds.sort(key=lambda find: (find[0], find[1]))
    return [_to_extracted(text, refanged.original_start, refanged.original_end, f) for f in finds]


def _to_extracted(text: str, to_start: PositionMap, to_end: PositionMap, find: Find) -> Extracted:
    start, end = to_start(find[0]), to_end(find[1])
    return Extracted(find[2], find[3], start, end, text[start:end])


def _find_urls(work: str) -> Iterator[Find]:
    done = 0
    for match in _URL_START_RE.finditer(work):
        start = match.start()
        if start < done:
            continue
        end = _url_end(work, start, match.end())
        value = _try(normalize_url, work[start:end])
        if value is not None:
            done = end
            yield start, end, Kind.URL, value


def _url_end(work: str, start: int, body: int) -> int:
    url_body = _URL_BODY_RE.match(work, body)
    end = url_body.end() if url_body else body
    closer = _CLOSERS.get(work[start - 1]) if start else None
    if closer is not None:
        cut = work.find(closer, body, end)
        end = cut if cut != -1 else end
    end = _cut_unbalanced(work, body, end)
    while end > body and work[end - 1] in _TRAILING:
        end -= 1
    return end


def _cut_unbalanced(work: str, body: int, end: int) -> int:
    # RFC 3986 allows ')' in a path, so keep balanced "(...)" (wiki links) and end the URL at
    # the first ')' or ']' that closes something opened before it (case C004).
    depth = {")": 0, "]": 0}
    opener = {"(": ")", "[": "]"}
    for index in range(body, end):
        char = work[index]
        if char in opener:
            depth[opener[char]] += 1
        elif char in depth:
            if depth[char] == 0:
                return index
            depth[char] -= 1
    return end


def _find_emails(work: str) -> Iterator[Find]:
    for match in _EMAIL_RE.finditer(work):
        value = _try(normalize_email, match.group())
        if value is not None and is_known_tld(value.rpartition(".")[2]):
            yield match.start(), match.end(), Kind.EMAIL, value


def _find_domains(work: str) -> Iterator[Find]:
    for match in _DOMAIN_RE.finditer(work):
        value = _try(normalize_domain, match.group())
        if value is not None and _plausible_domain(value):
            yield match.start(), match.end(), Kind.DOMAIN, value


def _plausible_domain(value: str) -> bool:
    # Registries do not hand out names with '_' (it marks service labels such as _dmarc).
    labels = value.split(".")
    return is_known_tld(labels[-1]) and "_" not in labels[-2]


def _find_ips(work: str) -> list[Find]:
    ipv6 = [find for match in _IPV6_RE.finditer(work) for find in _ipv6_find(match)]
    ipv6_spans = _spans(ipv6)
    ipv4 = [
        find
        for match in _IPV4_RE.finditer(work)
        for find in _ip_find(normalize_ipv4, Kind.IPV4, match.start(), match.group())
        if not _inside(find, ipv6_spans)  # the tail of ::ffff:192.0.2.9
    ]
    return ipv4 + ipv6


def _ipv6_find(match: re.Match[str]) -> Iterator[Find]:
    candidate = match.group()
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate = candidate[:-1]
    # RFC 4291 2.2: without "::" an address has 8 groups (or 6 and a dotted quad); this skips
    # times such as 09:20:41 before they reach the parser.
    shaped = "::" in candidate or candidate.count(":") in (6, 7)
    if shaped and any(char not in ":./" for char in candidate):
        yield from _ip_find(normalize_ipv6, Kind.IPV6, match.start(), candidate)


def _ip_find(normalizer: Normalizer, kind: Kind, start: int, candidate: str) -> Iterator[Find]:
    # A prefix out of range ("10.0.0.1/99") leaves the address itself as the IOC.
    value = _try(normalizer, candidate)
    if value is None and "/" in candidate:
        candidate = candidate.partition("/")[0]
        value = _try(normalizer, candidate)
    if value is not None:
        found_kind = Kind.IPV4 if kind is Kind.IPV6 and "." in value else kind
        yield start, start + len(candidate), found_kind, value


def _find_hashes(work: str) -> Iterator[Find]:
    for match in _HASH_RE.finditer(work):
        kind = HASH_LENGTHS.get(len(match.group()))
        if kind is not None:
            yield match.start(), match.end(), kind, match.group().lower()


def _try(normalizer: Normalizer, candidate: str) -> str | None:
    try:
        return normalizer(candidate)
    except ObservableError:
        return None


def _spans(finds: list[Find]) -> list[Span]:
    return sorted((find[0], find[1]) for find in finds)


def _inside(find: Find, spans: list[Span]) -> bool:
    # The spans do not overlap, so only the last one starting at or before the find can hold it.
    at = bisect.bisect_right(spans, (find[0], 1 << 62)) - 1
    return at >= 0 and spans[at][1] >= find[1]


def _inside_any(find: Find, *groups: list[Span]) -> bool:
    return any(_inside(find, spans) for spans in groups)
