"""Typed msgspec schemas for ECS JSON lines, generated from the field table.

ECS documents name a field with dotted keys (``{"source.ip": ...}``) or nested objects
(``{"source": {"ip": ...}}``); each way of writing a field is a :class:`Spelling`. The schema
decodes only the spellings an input uses: every other known key is typed ``None``, so a line
that does use one fails to decode and is read by :func:`loosen` instead, which names the
spellings it found, and the schema is widened. Any ECS field may hold an array (ECS "field data
types": arrays), so a value is a string or a list of strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from indicia.matching.fields import DEFAULT_PORT_FIELD, FIELD_KINDS, PORT_FIELDS

TIMESTAMP_KEYS = ("@timestamp", "timestamp")
PORT_NAMES: tuple[str, ...] = (DEFAULT_PORT_FIELD, *sorted(set(PORT_FIELDS.values())))

# ECS object arrays among the matched fields: dns.answers is a list of answer objects.
OBJECT_ARRAYS = frozenset({"dns.answers"})

# Roles of a spelling: a matched value, a port, the event time.
VALUE, PORT, TIME = "value", "port", "time"

_VALUE_TYPE: Any = str | list[str] | None
_LEAF_TYPES: dict[str, Any] = {VALUE: _VALUE_TYPE, PORT: int | None, TIME: str | None}


@dataclass(frozen=True, slots=True)
class Spelling:
    """One way a document writes one field: the keys from the top, and what the field is.

    ``item`` is set for a field inside an object array: the key read in each array element.
    """

    field: str
    keys: tuple[str, ...]
    role: str
    item: str | None = None


def _spellings() -> tuple[Spelling, ...]:
    found = [Spelling(TIMESTAMP_KEYS[0], (key,), TIME) for key in TIMESTAMP_KEYS]
    named = [(name, VALUE) for name in FIELD_KINDS] + [(name, PORT) for name in PORT_NAMES]
    for name, role in named:
        found.append(Spelling(name, (name,), role))
        parent, _, leaf = name.rpartition(".")
        if parent in OBJECT_ARRAYS:
            found.append(Spelling(name, tuple(parent.split(".")), role, leaf))
        else:
            found.append(Spelling(name, tuple(name.split(".")), role))
    return tuple(found)


SPELLINGS: tuple[Spelling, ...] = _spellings()


@dataclass(frozen=True, slots=True)
class Schema:
    """A decoder for the spellings in ``used`` (also in table order) and their attribute paths."""

    used: frozenset[Spelling]
    ordered: tuple[Spelling, ...]
    decoder: msgspec.json.Decoder[Any]
    document: type[msgspec.Struct]
    paths: dict[Spelling, str]
    empty: Any


def build_schema(used: Iterable[Spelling]) -> Schema:
    """A typed schema reading the ``used`` spellings; any other known key must be absent."""
    chosen = frozenset(used)
    paths: dict[Spelling, str] = {}
    tree: dict[str, Any] = {}
    for spelling in SPELLINGS:
        node = tree
        for key in spelling.keys[:-1]:
            node = node.setdefault(key, {})
        node[spelling.keys[-1]] = spelling
    document = _struct("Document", tree, chosen, paths, "")
    ordered = tuple(spelling for spelling in SPELLINGS if spelling in chosen)
    return Schema(chosen, ordered, msgspec.json.Decoder(document), document, paths, document())


def _struct(
    name: str,
    tree: dict[str, Any],
    used: frozenset[Spelling],
    paths: dict[Spelling, str],
    prefix: str,
) -> type[msgspec.Struct]:
    """One level of the schema; attributes are ``k0``, ``k1``... renamed to the JSON keys."""
    members: list[tuple[str, Any, Any]] = []
    for number, (key, node) in enumerate(sorted(tree.items())):
        attribute = f"k{number}"
        if isinstance(node, Spelling):
            paths[node] = prefix + attribute
            kind = _leaf_type(node, used, f"{name}_{attribute}")
            members.append((attribute, kind, msgspec.field(default=None, name=key)))
            continue
        # A parent object absent from a line is a shared empty instance, so attribute paths
        # through it always resolve (frozen: sharing it is safe; gc=False: decoding is cheaper).
        child = _struct(f"{name}_{attribute}", node, used, paths, f"{prefix}{attribute}.")
        members.append((attribute, child, msgspec.field(default=child(), name=key)))
    return msgspec.defstruct(name, members, frozen=True, gc=False)


def _leaf_type(spelling: Spelling, used: frozenset[Spelling], name: str) -> Any:
    if spelling not in used:
        return None
    if spelling.item is None:
        return _LEAF_TYPES[spelling.role]
    item = msgspec.defstruct(
        name,
        [("value", _VALUE_TYPE, msgspec.field(default=None, name=spelling.item))],
        frozen=True,
        gc=False,
    )
    return list[item] | None  # type: ignore[valid-type]


def loosen(document: dict[str, Any]) -> tuple[dict[str, Any], set[Spelling]]:
    """A decoded document cut down to the known spellings, values coerced to the schema's types.

    Also the spellings that hold a value. Keys of the wrong shape (an object where a value
    belongs, or the reverse) hold nothing; numbers in value fields become their JSON text.
    """
    found: set[Spelling] = set()
    kept: dict[str, Any] = {}
    for spelling in SPELLINGS:
        value = _lookup(document, spelling.keys)
        if value is None:
            continue
        if spelling.item is not None:
            value = _items(value, spelling.item)
        else:
            value = _COERCE[spelling.role](value)
        if value is None:
            continue
        found.add(spelling)
        node = kept
        for key in spelling.keys[:-1]:
            node = node.setdefault(key, {})
        node[spelling.keys[-1]] = value
    return kept, found


def _lookup(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _items(value: Any, key: str) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    items = [
        {key: _as_value(item.get(key))} for item in value if isinstance(item, dict) and key in item
    ]
    return items or None


def _as_value(value: Any) -> str | list[str] | None:
    if isinstance(value, list):
        texts = [text for text in map(_as_text, value) if text is not None]
        return texts
    return _as_text(value)


def _as_text(value: Any) -> str | None:
    # The JSON text of a non-string value, as a JSON reader typed "string" gives it.
    if value is None or isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _as_port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_time(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_COERCE = {VALUE: _as_value, PORT: _as_port, TIME: _as_time}
