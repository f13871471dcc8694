"""The slow path for STIX patterns: the full grammar check and a parse-tree walk (stix2patterns).

Only patterns the regex in ``patterns`` does not recognise come here (qualifiers, FOLLOWEDBY,
LIKE, MATCHES, parentheses, list indexes...); stix2patterns does a few thousand a second.
"""

from __future__ import annotations

import re
from typing import Any

from stix2patterns.exceptions import ParseException
from stix2patterns.v21.grammars.STIXPatternListener import STIXPatternListener
from stix2patterns.v21.pattern import Pattern
from stix2patterns.validator import run_validator

from indicia.errors import PatternError
from indicia.stix.pattern_values import Comparison, Literal, PathStep

__all__ = ["grammar_errors", "parse_observations"]

_ESCAPE = re.compile(r"\\(['\\])")


def grammar_errors(pattern: str) -> list[str]:
    """Return the stix2patterns error messages for ``pattern`` (empty when it is valid 2.1)."""
    if not isinstance(pattern, str):
        return ["a pattern must be a string"]
    # stix2patterns 2.1.2 raises UnboundLocalError (brackets_check) on an empty pattern or
    # one of only "(" and spaces; answer those here.
    if not pattern.strip("( \t\r\n"):
        return ["a pattern needs at least one observation expression in [...]"]
    messages: list[str] = run_validator(pattern, stix_version="2.1")
    return [message.removeprefix("FAIL: ") for message in messages]


def parse_observations(pattern: str, object_id: str | None) -> list[list[Comparison]]:
    """Check ``pattern`` in full and return the ``=`` comparisons of each observation expression."""
    errors = grammar_errors(pattern)
    if errors:
        raise PatternError("; ".join(errors), object_id=object_id, field="pattern")

    try:
        tree = Pattern(pattern)
    except ParseException as exc:  # run_validator passed, so this is not expected
        raise PatternError(str(exc), object_id=object_id, field="pattern") from exc

    collector = _Collector()
    tree.walk(collector)
    return collector.observations


class _Collector(STIXPatternListener):  # type: ignore[misc]
    """Collects, per observation expression, the comparisons that test equality."""

    def __init__(self) -> None:
        self.observations: list[list[Comparison]] = []
        self._object_type = ""
        self._path: list[PathStep] = []

    def enterObservationExpressionSimple(self, ctx: Any) -> None:
        self.observations.append([])

    def exitObjectType(self, ctx: Any) -> None:
        self._object_type = ctx.getText()

    def exitFirstPathComponent(self, ctx: Any) -> None:
        literal = ctx.StringLiteral()
        self._path = [_unquote(literal.getText()) if literal else ctx.getText()]

    def exitKeyPathStep(self, ctx: Any) -> None:
        literal = ctx.StringLiteral()
        self._path.append(
            _unquote(literal.getText()) if literal else ctx.IdentifierWithoutHyphen().getText()
        )

    def exitIndexPathStep(self, ctx: Any) -> None:
        # A list index ([0] or [*]) never leads to a path we match on; keep it as a marker.
        self._path.append("*" if ctx.ASTERISK() else int(ctx.IntPosLiteral().getText()))

    def exitPropTestEqual(self, ctx: Any) -> None:
        # "!=" and "NOT =" say what an object is not; they cannot name a value to match.
        if ctx.NEQ() is not None or ctx.NOT() is not None:
            return
        literal = _literal(ctx.primitiveLiteral())
        self.observations[-1].append((self._object_type, tuple(self._path), literal))


def _literal(ctx: Any) -> Literal:
    orderable = ctx.orderableLiteral()
    if orderable is None:
        return None  # a boolean literal
    if orderable.StringLiteral() is not None:
        return _unquote(orderable.StringLiteral().getText())
    if orderable.IntPosLiteral() is not None or orderable.IntNegLiteral() is not None:
        return int(orderable.getText())
    return None  # float, binary, hex and timestamp literals are never matched on


def _unquote(token: str) -> str:
    body = token[1:-1]
    return _ESCAPE.sub(r"\1", body) if "\\" in body else body
