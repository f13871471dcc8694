"""Canonical event values per family, checked in Arrow: addresses, names, URLs, e-mail, hashes.

Values already in a common canonical shape are recognised with vectorised RE2 checks (Arrow
compute) and kept as they are, without a copy when every value passes; only the rest go, once
per distinct value, to the Python pass (:mod:`indicia.matching.batch_canon`), which asks
:mod:`indicia.observables`. Placeholders ("-", "null", ...) fail every fast check but one
("0.0.0.0", excluded by hand) and are dropped by the Python pass (DESIGN.md, "Matching").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from indicia.matching.batch_canon import canonicalize_values
from indicia.matching.batch_index import IPV4_RE, KIND_CODE
from indicia.matching.batch_native import fast_names, fast_urls, ipv4_numbers
from indicia.matching.batch_plan import (
    DOT_SEGMENT_RE,
    FAST_DOMAIN_RE,
    FAST_EMAIL_RE,
    FAST_URL_RE,
    HASH_DIGITS,
)

# An Arrow array or chunked array: every compute function here takes either.
ArrowValues = Any

_URL_HEAD = r"^[a-z][a-z0-9+.-]*://"
_NO_TEXT = pa.scalar(None, pa.string())


def _full(pattern: str) -> str:
    return f"^(?:{pattern})$"


@dataclass
class Stacked:
    """One family's values: line rows, field ids and raw text."""

    row: ArrowValues
    fid: ArrowValues
    raw: ArrowValues

    def take(self, mask: ArrowValues) -> Stacked:
        """The values where ``mask`` is true."""
        return Stacked(self.row.filter(mask), self.fid.filter(mask), self.raw.filter(mask))


@dataclass
class Counts:
    """How many values were read and how many of them were not valid observables."""

    total: int = 0
    invalid: int = 0


@dataclass
class _Checked:
    """Values after the Python pass: kept values, canonical forms, the pass's own columns."""

    stacked: Stacked
    canon: ArrowValues
    fixed: pa.Table | None = None
    host: ArrowValues = field(default=None)

    def column(self, name: str, kind: pa.DataType) -> ArrowValues:
        """A column of the Python pass aligned with the values (null where it did not run)."""
        if self.fixed is None:
            return pa.nulls(len(self.canon), kind)
        return self.fixed.column(name).cast(kind)


def _matches(values: ArrowValues, pattern: str) -> ArrowValues:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _where(mask: ArrowValues, values: ArrowValues) -> ArrowValues:
    """``values`` where ``mask`` holds, else null; no copy when it holds everywhere."""
    if pc.all(mask).as_py() is not False:
        return values
    return pc.if_else(mask, values, _NO_TEXT)


def _lower(values: ArrowValues) -> ArrowValues:
    """ASCII lower case; no copy when nothing is upper case (the common case in logs)."""
    if not pc.any(_matches(values, "[A-Z]")).as_py():
        return values
    return pc.ascii_lower(values)


def _finish(checked: _Checked, name: str, counts: Counts) -> _Checked:
    """Send the values the fast checks left open to the Python pass; count what was read.

    A placeholder, once stripped (" - "), is no value at all and drops out here.
    """
    stacked, canon = checked.stacked, checked.canon
    pending = pc.is_null(canon)
    if len(canon) and pc.any(pending).as_py():
        fixes = canonicalize_values(name, pc.unique(stacked.raw.filter(pending)))
        fixed = fixes.take(pc.index_in(stacked.raw, value_set=fixes.column("raw")))
        keep = pc.invert(pc.fill_null(fixed.column("placeholder"), False))
        canon = pc.coalesce(canon, fixed.column("canon")).filter(keep)
        host = checked.host
        if host is not None:
            host = pc.coalesce(host, fixed.column("host")).filter(keep)
        checked = _Checked(stacked.take(keep), canon, fixed.filter(keep), host)
    counts.total += len(checked.canon)
    counts.invalid += checked.canon.null_count
    return checked


def _table(stacked: Stacked, canon: ArrowValues, **extra: ArrowValues) -> pa.Table:
    """(row, fid, canon, extra...) of the values with a canonical form."""
    columns = {"row": stacked.row, "fid": stacked.fid, "canon": canon, **extra}
    if canon.null_count:
        valid = pc.is_valid(canon)
        columns = {key: value.filter(valid) for key, value in columns.items()}
    return pa.table(columns)


def ips(stacked: Stacked, counts: Counts) -> pa.Table:
    """Event addresses: a dotted quad as given, anything else through the Python pass."""
    raw = stacked.raw
    numbers = ipv4_numbers(raw)
    # 0.0.0.0 is a placeholder: the Python pass drops it.
    fast = pc.fill_null(pc.not_equal(numbers, pa.scalar(0, pa.uint32())), False)
    checked = _finish(_Checked(stacked, _where(fast, raw)), "ip", counts)
    if checked.fixed is not None:
        # The Python pass ran (and may have dropped values): number its canonical forms too.
        numbers = ipv4_numbers(checked.canon)
    return _table(
        checked.stacked,
        checked.canon,
        ip4=numbers,
        ip6=checked.column("ip6", pa.binary()),
        ip6b=checked.column("ip6b", pa.uint32()),
    )


def _fast_name(names: ArrowValues) -> ArrowValues:
    """Where a lower-case name is already canonical (indicia.observables.names' fast path)."""
    # RFC 1035 2.3.4: at most 253 characters; RFC 3696 2: a TLD is not all digits.
    return pc.and_(
        pc.and_(_matches(names, _full(FAST_DOMAIN_RE)), pc.invert(_matches(names, "xn--"))),
        pc.and_(
            pc.less_equal(pc.binary_length(names), 253),
            pc.invert(_matches(names, r"\.[0-9]+$")),
        ),
    )


def names(stacked: Stacked, counts: Counts) -> pa.Table:
    """Event domain names: lower case, one trailing dot (the DNS root) dropped."""
    raw = stacked.raw
    fast = fast_names(raw)
    if fast is not None and pc.all(fast).as_py() is not False:
        canon = raw  # every name is canonical as it is, the common case in logs
    else:
        lowered = _lower(raw)
        dotted = pc.ends_with(lowered, ".")
        if pc.any(dotted).as_py():
            lowered = pc.if_else(dotted, pc.utf8_slice_codeunits(lowered, 0, -1), lowered)
        fast = fast_names(lowered)
        canon = _where(_fast_name(lowered) if fast is None else fast, lowered)
    checked = _finish(_Checked(stacked, canon), "domain", counts)
    return _table(checked.stacked, checked.canon)


def _fast_url_host(host: ArrowValues) -> ArrowValues:
    # The URL pattern already gives a fast-shape name or address; these are the name rules
    # the pattern cannot say (indicia.observables.names).
    return pc.fill_null(
        pc.and_(
            pc.and_(pc.invert(_matches(host, "xn--")), pc.less_equal(pc.binary_length(host), 253)),
            pc.invert(_matches(host, r"\.[0-9]+$")),
        ),
        False,
    )


def _with_root_path(urls: ArrowValues) -> ArrowValues:
    # RFC 3986 6.2.3: an empty path is "/".
    bare = r"^([a-z][a-z0-9+.-]*://[^/?]*)(\?|$)"
    if not pc.any(_matches(urls, bare)).as_py():
        return urls
    return pc.replace_substring_regex(urls, bare, r"\1/\2", max_replacements=1)


def _fast_urls(raw: ArrowValues) -> tuple[ArrowValues, ArrowValues]:
    """(canonical URL, host) of the URLs of the fast shape, else null: the regular-expression
    form of batch_native.fast_urls."""
    host = pc.struct_field(pc.extract_regex(raw, _URL_HEAD + r"(?P<host>[^/?]*)"), [0])
    fast = pc.and_(
        pc.and_(_matches(raw, _full(FAST_URL_RE)), pc.invert(_matches(raw, DOT_SEGMENT_RE))),
        pc.or_(_matches(host, _full(IPV4_RE)), _fast_url_host(host)),
    )
    return _where(fast, _with_root_path(raw)), _where(fast, host)


def urls(stacked: Stacked, counts: Counts) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Event URLs, and their hosts: those that are names, and those that are addresses."""
    canon, host = fast_urls(stacked.raw) or _fast_urls(stacked.raw)
    checked = _finish(_Checked(stacked, canon, host=host), "url", counts)
    found = _table(checked.stacked, checked.canon)

    ip6 = checked.column("ip6", pa.binary())
    ip4 = ipv4_numbers(checked.host)
    is_ip = pc.or_(pc.is_valid(ip6), pc.is_valid(ip4))
    is_name = pc.invert(is_ip)
    hosts = _table(checked.stacked.take(is_name), checked.host.filter(is_name))
    addresses = _table(
        checked.stacked.take(is_ip),
        checked.host.filter(is_ip),
        ip4=ip4.filter(is_ip),
        ip6=ip6.filter(is_ip),
        ip6b=checked.column("ip6b", pa.uint32()).filter(is_ip),
    )
    return found, hosts, addresses


def emails(stacked: Stacked, counts: Counts) -> pa.Table:
    """Event e-mail addresses, lower case: they match case-insensitively (DESIGN.md)."""
    lowered = _lower(stacked.raw)
    local = pc.struct_field(pc.extract_regex(lowered, r"^(?P<local>[^@]*)@"), [0])
    domain = pc.struct_field(pc.extract_regex(lowered, r"@(?P<domain>[^@]*)$"), [0])
    # RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
    fast = pc.and_(
        _matches(lowered, _full(FAST_EMAIL_RE)),
        pc.and_(
            pc.fill_null(pc.less_equal(pc.binary_length(local), 64), False),
            pc.fill_null(_fast_name(domain), False),
        ),
    )
    checked = _finish(_Checked(stacked, _where(fast, lowered)), "email", counts)
    return _table(checked.stacked, checked.canon)


def hashes(stacked: Mapping[str, Stacked], counts: Counts) -> pa.Table:
    """Event hashes of every kind, lower-case hex of the kind's length."""
    tables = []
    for kind, digits in HASH_DIGITS.items():
        lowered = _lower(stacked[kind].raw)
        fast = _matches(lowered, f"^[0-9a-f]{{{digits}}}$")
        checked = _finish(_Checked(stacked[kind], _where(fast, lowered)), kind, counts)
        code = pa.nulls(len(checked.canon), pa.int8()).fill_null(KIND_CODE[kind])
        tables.append(_table(checked.stacked, checked.canon, code=code))
    return pa.concat_tables(tables)
