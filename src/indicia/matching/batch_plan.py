"""The batch match plan's shared parts: the ``wide`` table, field ids, the fast-shape patterns.

The input is read once into the ``wide`` table: one row per event with its time, the ports and
one column per field spelling the input uses (DESIGN.md, "Matching"). Its values are stacked
and made canonical by :mod:`indicia.matching.batch_values`, and joined against the index by
:mod:`indicia.matching.batch_join`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indicia.matching.batch_index import IPV4_RE
from indicia.matching.fields import (
    DOMAIN,
    EMAIL,
    FIELD_KINDS,
    IPV4,
    URL_FIELDS,
)

# How a column holds a field: one string or a list of strings.
SCALAR, LIST = "scalar", "list"

FIELD_NAMES: tuple[str, ...] = tuple(FIELD_KINDS)
FIELD_ID: dict[str, int] = {name: number for number, name in enumerate(FIELD_NAMES)}

HASH_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}

# The shapes normalize_domain and normalize_url accept unchanged (indicia.observables.names and
# .urls); anything else goes to the Python pass. RE2 syntax, matched against the whole value.
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
FAST_DOMAIN_RE = rf"({_LABEL}\.)+[a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?"
_URL_REST = r"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]*"
FAST_URL_RE = rf"[a-z][a-z0-9+.-]*://({FAST_DOMAIN_RE}|{IPV4_RE})([/?]{_URL_REST})?"
# RFC 3986 5.2.4: dot segments are removed by the slow path.
DOT_SEGMENT_RE = r"/\.\.?([/?]|$)"
# RFC 5322 3.4.1 dot-atom local part (a subset of atext), then a fast-shape domain.
FAST_EMAIL_RE = rf"[a-z0-9_+-]+(\.[a-z0-9_+-]+)*@{FAST_DOMAIN_RE}"


@dataclass(frozen=True, slots=True)
class Accessor:
    """Where one ECS field's values are found in the source relation."""

    field: str
    expr: str
    shape: str


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the ``wide`` table: the field it holds and how it holds it."""

    name: str
    field: str
    shape: str


def family(field: str) -> str:
    """The family of canonicalisation a field's values get: ip, domain, url, email or a hash."""
    kinds = FIELD_KINDS[field]
    if field in URL_FIELDS:
        return "url"
    if kinds[0] == IPV4:
        return "ip"
    if kinds[0] == DOMAIN:
        return "domain"
    if kinds[0] == EMAIL:
        return "email"
    return kinds[0]


def wide_sql(
    accessors: Sequence[Accessor], ports: Mapping[str, str], source: str
) -> tuple[str, list[Column]]:
    """One row per event: row, ts (text), ports, one column per accessor.

    ``source`` is a relation with ``row``, ``ts`` and whatever the accessors read.
    """
    columns: list[Column] = []
    select = ["row", "CAST(ts AS VARCHAR) AS ts"]
    for name, expr in sorted(ports.items()):
        select.append(f"TRY_CAST({expr} AS INTEGER) AS {quote(name)}")
    for number, accessor in enumerate(accessors):
        column = Column(f"c{number}", accessor.field, accessor.shape)
        expr = accessor.expr
        if accessor.shape == LIST:
            expr = f"CAST({expr} AS VARCHAR[])"
        select.append(f"{expr} AS {column.name}")
        columns.append(column)
    return f"SELECT {', '.join(select)} FROM {source}", columns


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
