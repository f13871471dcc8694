"""Queries over the indicator projection: the intel-management list and the matching feed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Engine, Select, and_, func, or_, select

from indicia.errors import InputError, ObservableError
from indicia.matching.types import IndicatorEntry
from indicia.observables.kinds import DISPLAY_TYPES, resolve_kind_name
from indicia.store.schema import objects, observables

# The indicator rows of the objects table.
indicators = objects
IS_INDICATOR = objects.c.type == "indicator"

SORT_COLUMNS = {
    "value": indicators.c.value,
    "values": indicators.c.value,  # the column's heading
    "name": indicators.c.name,
    "type": indicators.c.types,
    "types": indicators.c.types,
    "source": indicators.c.source,
    "confidence": indicators.c.confidence,
    "alerts": indicators.c.alert_count,
    "tlp": indicators.c.tlp,
    "severity": indicators.c.severity,
    "created": indicators.c.created,
    "modified": indicators.c.modified,
    "valid_from": indicators.c.valid_from,
    "valid_until": indicators.c.valid_until,
}
STATES = ("active", "expired", "revoked")


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    """Filters, order and window of the intel-management list."""

    type: str | None = None
    source: str | None = None
    tag: str | None = None
    tlp: str | None = None
    min_confidence: int | None = None
    search: str | None = None
    state: str | None = None  # one of STATES, or None for all
    sort: str = "-modified"
    limit: int | None = None
    offset: int = 0
    at: datetime | None = None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _type_name(given: str) -> str:
    """The Types-column name a ``--type`` means: itself, or the type of a kind name or alias."""
    name = given.strip().lower()
    if name in DISPLAY_TYPES or name in ("file", "ip"):
        return name
    try:
        kind = str(resolve_kind_name(name))
    except ObservableError:
        known = ", ".join(sorted(DISPLAY_TYPES | {"file", "ip"}))
        raise InputError("--type", f"unknown type {given!r}; choose one of {known}") from None
    if kind == "hash":
        return "file"
    return f"file:{kind}" if f"file:{kind}" in DISPLAY_TYPES else kind


def _type_filter(name: str) -> ColumnElement[bool]:
    col = indicators.c
    if name == "ip":
        return or_(_json_member(col.types, "ipv4-addr"), _json_member(col.types, "ipv6-addr"))
    exact = _json_member(col.types, name)
    return exact if ":" in name else or_(exact, _json_member(col.types, name, prefix=True))


def _json_member(column: Any, member: str, *, prefix: bool = False) -> ColumnElement[bool]:
    """``column`` (a JSON list as text) holds ``member`` (or a member starting ``member:``)."""
    quoted = orjson.dumps(member).decode()
    if prefix:
        quoted = quoted[:-1] + ":"
    result: ColumnElement[bool] = column.like(f"%{_like_literal(quoted)}%", escape="\\")
    return result


def _state_filter(state: str, now: str) -> ColumnElement[bool]:
    col = indicators.c
    if state == "revoked":
        return col.revoked.is_(True)
    if state == "expired":
        return and_(col.revoked.is_(False), col.valid_until.is_not(None), col.valid_until <= now)
    if state == "active":
        current = or_(col.valid_until.is_(None), col.valid_until > now)
        return and_(col.revoked.is_(False), col.valid_from <= now, current)
    raise InputError("--state", f"unknown state {state!r}; choose one of {', '.join(STATES)}")


def _filters(query: IndicatorQuery) -> list[ColumnElement[bool]]:
    col = indicators.c
    found: list[ColumnElement[bool]] = [IS_INDICATOR]
    if query.type:
        found.append(_type_filter(_type_name(query.type)))
    if query.source:
        found.append(func.lower(col.source) == query.source.lower())
    if query.tag:
        found.append(_json_member(col.labels, query.tag))
    if query.tlp:
        found.append(col.tlp == query.tlp)
    if query.min_confidence is not None:
        found.append(col.confidence >= query.min_confidence)
    if query.search:
        needle = f"%{_like_literal(query.search.lower())}%"
        matches = [func.lower(c).like(needle, escape="\\") for c in (col.name, col.value, col.id)]
        found.append(or_(*matches))
    if query.state:
        found.append(_state_filter(query.state, _stamp(query.at or datetime.now(UTC))))
    return found


def _ordered(statement: Select[Any], sort: str) -> Select[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-+")
    column = SORT_COLUMNS.get(key)
    if column is None:
        known = ", ".join(sorted(SORT_COLUMNS))
        raise InputError("--sort", f"cannot sort by {key!r}; choose one of {known}")
    order = column.desc() if descending else column.asc()
    # Ties go to the most recently changed, so what an analyst just did shows first.
    return statement.order_by(order, indicators.c.modified.desc(), indicators.c.id)


def list_indicators(engine: Engine, query: IndicatorQuery) -> list[dict[str, Any]]:
    """Rows of the intel-management list, decoded (JSON columns as lists)."""
    columns = [c for c in indicators.c if c.name not in ("pk", "json")]
    statement = _ordered(select(*columns).where(*_filters(query)), query.sort)
    statement = statement.offset(query.offset)
    if query.limit is not None:
        statement = statement.limit(query.limit)
    with engine.connect() as conn:
        return [
            _decoded({str(k): v for k, v in row._mapping.items()})
            for row in conn.execute(statement)
        ]


def count_indicators(engine: Engine, query: IndicatorQuery) -> int:
    """How many indicators the query's filters select (ignoring its window)."""
    statement = select(func.count()).select_from(indicators).where(*_filters(query))
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("types", "labels", "kill_chain_phases", "indicator_types"):
        row[key] = orjson.loads(row[key] or "[]")
    row["revoked"] = bool(row["revoked"])
    return row


def parse_stamp(value: str) -> datetime:
    """A stored timestamp (``2024-03-05T10:20:30.123456Z``) back as an aware datetime."""
    # fromisoformat reads the stored form (Z included, Python 3.11+) ten times faster than
    # strptime, which matters when a run loads a million indicators.
    stamp = datetime.fromisoformat(value)
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def current_indicators_of(
    engine: Engine, kind: str, value: str, port: int | None = None, *, now: datetime | None = None
) -> list[str]:
    """Ids of the indicators, not revoked and not expired, whose pattern holds this observable."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    col = indicators.c
    statement = (
        select(col.id)
        .join(observables, indicators.c.pk == observables.c.object_pk)
        .where(
            observables.c.kind == kind,
            # Matching reads e-mail addresses without regard to case; so does this check.
            func.lower(observables.c.value) == value.lower()
            if kind == "email-addr"
            else observables.c.value == value,
            observables.c.port.is_(None) if port is None else observables.c.port == port,
            col.revoked.is_(False),
            or_(col.valid_until.is_(None), col.valid_until > moment),
        )
        .order_by(col.created, col.id)
    )
    with engine.connect() as conn:
        return list(dict.fromkeys(conn.execute(statement).scalars()))


def matchable_entries(engine: Engine) -> Iterator[IndicatorEntry]:
    """Every observable of every indicator that is not revoked (validity is checked per event)."""
    col = indicators.c
    statement = (
        select(
            col.id,
            observables.c.kind,
            observables.c.value,
            observables.c.port,
            col.valid_from,
            col.valid_until,
            col.confidence,
        )
        .join(indicators, indicators.c.pk == observables.c.object_pk)
        .where(col.revoked.is_(False))
    )
    with engine.connect() as conn:
        for ident, kind, value, port, start, end, confidence in conn.execute(statement):
            yield IndicatorEntry(
                indicator_id=ident,
                kind=kind,
                value=value,
                valid_from=parse_stamp(start),
                valid_until=parse_stamp(end) if end else None,
                confidence=confidence,
                port=port,
            )
