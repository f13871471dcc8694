"""MISP warninglists: well-known benign values whose matches are withheld, not alerted.

A warninglist is a MISP JSON file (``name``, ``type``, ``list``, ``matching_attributes``). The
five MISP types are honoured: ``cidr`` (an address or a CIDR equal to or inside a listed block),
``string`` (exact; names compared case-insensitively), ``hostname`` (the name and its
subdomains), ``substring`` and ``regex`` (over the whole value). ``matching_attributes`` names
MISP attribute types; they are mapped onto Indicia's observable kinds, and a list without them
applies to every kind.

Two policies go beyond the MISP text and are deliberate:

* A CIDR that is *broader* than a listed block (``172.0.0.0/8`` against ``172.16.0.0/12``) is
  not on the list: most of its addresses are not the benign ones (case C020).
* Subdomain coverage stops at a public suffix. ``github.io`` and ``duckdns.org`` are on the top
  domain lists, but ``evil.duckdns.org`` is someone else's name, so a listed name covers only
  names inside the same registrable domain. The public suffixes come from Mozilla's Public
  Suffix List as flattened by the MISP ``second-level-tlds`` list; by the PSL's default rule a
  top-level domain is always one, so a listed TLD never covers the names beneath it.
* A ``hostname`` list covers a URL only when the URL names no more than its host (no user,
  no port of its own, no path beyond ``/``, no query, no fragment). ``github.com`` is on
  every top-site list, but ``https://github.com/<someone>/releases/download/stage2.exe`` is
  a specific, hostile resource on it: MISP would withhold the match, an analyst wants the
  alert. URL-exact, substring and regex lists still apply to every URL.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import socket
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idna

from indicia.errors import InputError, ObservableError
from indicia.matching.types import Match
from indicia.observables import normalize_url

logger = logging.getLogger(__name__)

# Not "warninglists/": a directory named like this module makes the import ambiguous to tools.
SHIPPED_DIR = Path(__file__).with_name("warninglist_data")
PUBLIC_SUFFIX_LIST = "second-level-tlds.json"

# Cloud and CDN address ranges: benign for the provider's own services, but attackers rent the
# same ranges (SUNBURST's C2 addresses were in AWS), so a deployment may prefer to skip them.
CLOUD_LISTS = (
    "akamai",
    "amazon-aws",
    "cloudflare",
    "fastly",
    "google-gcp",
    "microsoft-azure",
    "microsoft-office365-ip",
)

_IP_KINDS = frozenset({"ipv4-addr", "ipv6-addr"})
_NAME_KINDS = frozenset({"domain-name", "url", "email-addr"})
_HASH_KINDS = ("md5", "sha1", "sha256", "sha512")
ALL_KINDS = _IP_KINDS | _NAME_KINDS | frozenset(_HASH_KINDS)

# MISP attribute types (misp-objects "Attribute types") onto the kinds Indicia matches.
_ATTRIBUTE_KINDS: dict[str, frozenset[str]] = {
    "ip": _IP_KINDS,
    "ip-src": _IP_KINDS,
    "ip-dst": _IP_KINDS,
    "ip-src|port": _IP_KINDS,
    "ip-dst|port": _IP_KINDS,
    "domain|ip": _IP_KINDS | {"domain-name"},
    "domain": frozenset({"domain-name"}),
    "hostname": frozenset({"domain-name"}),
    "hostname|port": frozenset({"domain-name"}),
    "url": frozenset({"url"}),
    "uri": frozenset({"url"}),
    "link": frozenset({"url"}),
    "email": frozenset({"email-addr"}),
    "email-src": frozenset({"email-addr"}),
    "email-dst": frozenset({"email-addr"}),
    "target-email": frozenset({"email-addr"}),
    "email-reply-to": frozenset({"email-addr"}),
    "whois-registrant-email": frozenset({"email-addr"}),
    "dns-soa-email": frozenset({"email-addr"}),
    **{h: frozenset({h}) for h in _HASH_KINDS},
    **{f"filename|{h}": frozenset({h}) for h in _HASH_KINDS},
}

_TYPES = frozenset({"cidr", "string", "hostname", "substring", "regex"})
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@dataclass(frozen=True, slots=True)
class Warninglist:
    """One MISP warninglist: its name, MISP type, the kinds it applies to and its entries."""

    name: str
    type: str
    kinds: frozenset[str]
    entries: tuple[str, ...]
    version: int = 0
    description: str = ""


def parse_warninglist(data: Mapping[str, Any], source: str) -> Warninglist:
    """Check one MISP warninglist document (schema.json of misp-warninglists) and model it."""
    for key in ("name", "type", "list"):
        if key not in data:
            raise InputError(source, f"warninglist lacks the required field {key!r}")
    if data["type"] not in _TYPES:
        raise InputError(source, f"unknown warninglist type {data['type']!r}")
    entries = data["list"]
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise InputError(source, "warninglist 'list' must be an array of strings")

    attributes = data.get("matching_attributes") or []
    kinds = frozenset().union(*(_ATTRIBUTE_KINDS.get(a, frozenset()) for a in attributes))
    return Warninglist(
        name=str(data["name"]),
        type=str(data["type"]),
        kinds=kinds if attributes else ALL_KINDS,
        entries=tuple(entries),
        version=int(data.get("version", 0)),
        description=str(data.get("description", "")),
    )


def read_warninglist(path: Path) -> Warninglist:
    """Read and check one warninglist file."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read warninglist: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(str(path), "a warninglist must be a JSON object")
    return parse_warninglist(data, str(path))


def canonical_name(entry: str) -> str:
    """A listed name as a canonical domain: lower case, no outer dots, IDNA A-labels."""
    name = entry.strip().strip(".").lower()
    if name.isascii():
        return name
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def _canonical_url(entry: str) -> str:
    try:
        return normalize_url(entry)
    except ObservableError:
        return entry


def _ip_interval(value: str) -> tuple[int, int, int] | None:
    """An address or CIDR as (version, first, last) integers, or None when it is neither."""
    text, slash, prefix = value.strip().partition("/")
    family, bits = (socket.AF_INET6, 128) if ":" in text else (socket.AF_INET, 32)
    try:
        number = int.from_bytes(socket.inet_pton(family, text), "big")
    except OSError:
        return None
    # MISP #2138: a bare trailing slash ("192.0.2.4/") is not a network.
    if slash and not (prefix.isdigit() and int(prefix) <= bits):
        return None
    host_bits = (1 << (bits - int(prefix or bits))) - 1
    return (6 if bits == 128 else 4), number & ~host_bits, number | host_bits


def _compile_regex(entry: str) -> re.Pattern[str] | None:
    """A MISP regex entry (PHP ``/pattern/flags``) as a Python pattern, or None if invalid."""
    body, flags = entry, 0
    if len(entry) > 1 and entry[0] == "/" and "/" in entry[1:]:
        end = entry.rindex("/")
        body = entry[1:end]
        for letter in entry[end + 1 :]:
            flags |= _REGEX_FLAGS.get(letter, 0)  # PHP's "g" has no meaning for a test
    try:
        return re.compile(body, flags)
    except re.error:
        return None


@dataclass(slots=True)
class _IntervalIndex:
    """Disjoint outermost CIDR blocks of one IP version, searched with bisect."""

    blocks: list[tuple[int, int, str]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def freeze(self) -> None:
        # CIDR blocks are either disjoint or nested, so keeping only the outermost ones leaves
        # disjoint blocks; a value is inside a nested block iff it is inside its outer block.
        self.blocks.sort(key=lambda b: (b[0], -b[1]))
        for first, last, name in self.blocks:
            if self.ends and first <= self.ends[-1]:
                continue
            self.starts.append(first)
            self.ends.append(last)
            self.names.append(name)
        self.blocks.clear()

    def find(self, first: int, last: int) -> str | None:
        i = bisect_right(self.starts, first) - 1
        if i >= 0 and self.ends[i] >= last:
            return self.names[i]
        return None


@dataclass(slots=True)
class _KindIndex:
    """Everything the warninglists hold for one observable kind."""

    exact: dict[str, str] = field(default_factory=dict)
    covers: dict[str, str] = field(default_factory=dict)  # names that cover their subdomains
    substrings: dict[str, str] = field(default_factory=dict)
    regexes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    intervals: dict[int, _IntervalIndex] = field(default_factory=dict)
    substring_re: re.Pattern[str] | None = None

    def freeze(self) -> None:
        for index in self.intervals.values():
            index.freeze()
        if self.substrings:
            # One alternation, longest first, instead of a scan over every listed substring.
            ordered = sorted(self.substrings, key=len, reverse=True)
            self.substring_re = re.compile("|".join(map(re.escape, ordered)))


class Warninglists:
    """A compiled set of warninglists answering "is this canonical value well known?"."""

    def __init__(
        self, lists: Iterable[Warninglist], public_suffixes: Iterable[str] | None = None
    ) -> None:
        self.lists = tuple(lists)
        self._public_suffixes = frozenset(canonical_name(s) for s in public_suffixes or ())
        self._index = {kind: _KindIndex() for kind in ALL_KINDS}
        for warninglist in self.lists:
            for kind in warninglist.kinds:
                _add_list(self._index[kind], kind, warninglist)
        for index in self._index.values():
            index.freeze()

    @classmethod
    def from_paths(cls, *paths: Path | str) -> Warninglists:
        """Load warninglist files (a directory means every ``*.json`` in it)."""
        files: list[Path] = []
        for path in map(Path, paths):
            files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
        loaded = [(p.name, read_warninglist(p)) for p in files if p.name != "schema.json"]
        suffixes = [e for name, wl in loaded if name == PUBLIC_SUFFIX_LIST for e in wl.entries]
        return cls((wl for _, wl in loaded), suffixes)

    @classmethod
    def load_default(cls, *, skip: Iterable[str] = ()) -> Warninglists:
        """The warninglists shipped with Indicia (see ``warninglist_data/SOURCES.md``).

        ``skip`` names shipped files (without ``.json``) to leave out, e.g. :data:`CLOUD_LISTS`.
        Each choice is built once per process (about half a second) and shared.
        """
        return _shipped(frozenset(skip))

    @property
    def names(self) -> list[str]:
        """The names of the loaded lists."""
        return [wl.name for wl in self.lists]

    def lookup(self, kind: str, value: str) -> str | None:
        """The name of a list holding this canonical value of this kind, or None."""
        index = self._index.get(str(kind))
        if index is None or not value:
            return None
        if kind in _IP_KINDS:
            return _lookup_ip(index, value)
        if kind == "domain-name":
            return self._lookup_name(index, value.lower()) or _lookup_patterns(index, value)
        if kind == "url":
            return self._lookup_url(index, value)
        return index.exact.get(value.lower()) or _lookup_patterns(index, value)

    def check(self, match: Match) -> str | None:
        """The list a match is withheld by: its event value's first, else its indicator's."""
        return self.lookup(match.kind, match.matched_value) or self.lookup(
            match.kind, match.indicator_value
        )

    def _lookup_name(self, index: _KindIndex, name: str) -> str | None:
        hit = index.exact.get(name) or index.covers.get(name)
        if hit or not index.covers:
            return hit
        labels = name.split(".")
        for i in range(1, self._registrable_start(labels) + 1):
            hit = index.covers.get(".".join(labels[i:]))
            if hit:
                return hit
        return None

    def _registrable_start(self, labels: list[str]) -> int:
        """Index of the first label of the name's registrable domain (public suffix + 1)."""
        for i in range(len(labels)):
            if ".".join(labels[i:]) in self._public_suffixes:
                return max(i - 1, 0)
        # PSL default rule: an unlisted top-level label is a public suffix by itself.
        return max(len(labels) - 2, 0)

    def _lookup_url(self, index: _KindIndex, url: str) -> str | None:
        hit = index.exact.get(url)
        if hit:
            return hit
        host = url_host(url)
        if host and _names_only_its_host(url) and _ip_interval(host) is None:
            hit = self._lookup_name(index, host)
        return hit or _lookup_patterns(index, url)


def default_warninglists() -> Warninglists:
    """The shipped warninglists without the cloud and CDN ranges: what matching uses.

    Attackers rent cloud hosting like everyone else (SUNBURST's C2 addresses sat in AWS), so a
    match on a cloud range is a real detection; special-use ranges and top sites are noise.
    """
    return Warninglists.load_default(skip=CLOUD_LISTS)


@functools.cache
def _shipped(skip: frozenset[str]) -> Warninglists:
    unknown = skip - {p.stem for p in SHIPPED_DIR.glob("*.json")}
    if unknown:
        raise ValueError(f"no shipped warninglist named {', '.join(sorted(unknown))}")
    files = [p for p in sorted(SHIPPED_DIR.glob("*.json")) if p.stem not in skip]
    return Warninglists.from_paths(*files)


def _add_list(index: _KindIndex, kind: str, warninglist: Warninglist) -> None:
    """File one list's entries into the index of one kind, as its MISP type says."""
    for entry in warninglist.entries:
        _add_entry(index, kind, warninglist.type, entry.strip(), warninglist.name)


def _add_entry(index: _KindIndex, kind: str, list_type: str, entry: str, name: str) -> None:
    if not entry:
        return
    if list_type == "substring":
        index.substrings.setdefault(entry.lower(), name)
    elif list_type == "regex":
        pattern = _compile_regex(entry)
        if pattern is None:
            logger.warning("warninglist %r: skipped invalid regex %r", name, entry)
        else:
            index.regexes.append((pattern, name))
    elif kind in _IP_KINDS:
        _add_ip_entry(index, kind, list_type, entry, name)
    elif kind == "url" and "://" in entry:
        index.exact.setdefault(_canonical_url(entry), name)
    elif kind in ("domain-name", "url"):
        # A leading dot (".google.ad") or "*." means "the subdomains of", as in DNS zone files.
        covering = list_type == "hostname" or entry.startswith((".", "*."))
        target = index.covers if covering else index.exact
        target.setdefault(canonical_name(entry.removeprefix("*")), name)
    else:
        index.exact.setdefault(entry.lower(), name)


def _add_ip_entry(index: _KindIndex, kind: str, list_type: str, entry: str, name: str) -> None:
    interval = _ip_interval(entry)
    if interval is None or (interval[0] == 4) != (kind == "ipv4-addr"):
        return
    version, first, last = interval
    if list_type == "cidr":
        index.intervals.setdefault(version, _IntervalIndex()).blocks.append((first, last, name))
    else:
        index.exact.setdefault(_ip_text(entry), name)


def _ip_text(value: str) -> str:
    """An address or CIDR in the canonical text form (RFC 5952 for IPv6, /32 and /128 bare)."""
    net = ipaddress.ip_network(value.strip(), strict=False)
    return str(net.network_address) if net.num_addresses == 1 else str(net)


def _lookup_ip(index: _KindIndex, value: str) -> str | None:
    hit = index.exact.get(value)
    if hit:
        return hit
    interval = _ip_interval(value)
    if interval is None:
        return None
    version, first, last = interval
    intervals = index.intervals.get(version)
    return intervals.find(first, last) if intervals else None


def _lookup_patterns(index: _KindIndex, value: str) -> str | None:
    if index.substring_re is not None:
        found = index.substring_re.search(value.lower())
        if found:
            return index.substrings[found.group(0)]
    for pattern, name in index.regexes:
        if pattern.search(value):
            return name
    return None


def _names_only_its_host(url: str) -> bool:
    """Whether a canonical URL is its host alone: no user, no port other than the scheme's
    (canonical URLs drop that one), no path beyond ``/``, no query and no fragment."""
    rest = url.partition("://")[2]
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    authority = rest if cut < 0 else rest[:cut]
    if "@" in authority or ":" in authority.rsplit("]", 1)[-1]:
        return False
    return cut < 0 or rest[cut:] == "/"


def url_host(url: str) -> str | None:
    """The host of a canonical URL (lower case already), without port or brackets."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    authority = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):
        return authority[1 : authority.find("]")] or None
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority or None
