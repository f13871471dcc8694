"""The regex fast path for the common STIX patterns, which never touches the ANTLR parser.

It recognises ``=`` comparisons on the paths we match, joined by AND or OR inside ``[...]``,
and observation expressions joined by AND or OR. Whatever it accepts is valid STIX 2.1 pattern
grammar (section 9); whatever it does not accept goes to ``pattern_tree``, so the two paths
never disagree on validity.
"""

from __future__ import annotations

import re

from indicia.stix.pattern_values import Comparison, Literal, PathStep

__all__ = ["fast_observations"]

# ASCII whitespace only: the grammar's lexer rejects some Unicode spaces (U+00A0) that
# Python's \s accepts, and anything unusual belongs to the full parser.
_WS = r"[ \t\r\n]"
# A string literal escapes only \' and \\ (9.3); the loop is unrolled so re does not
# backtrack once per character.
_BODY = r"[^'\\]*(?:\\['\\][^'\\]*)*"
_PATH = (
    r"(?:value"
    r"|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?:dst|src)_ref\.(?:value|type)|(?:dst|src)_port"
    r"|(?:from|sender)_ref\.value)"
)
_COMPARISON = rf"[a-z][a-z0-9-]*:{_PATH}{_WS}*={_WS}*(?:'{_BODY}'|0|[1-9][0-9]{{0,4}})"
_OBSERVATION = rf"\[{_WS}*{_COMPARISON}(?:{_WS}+(?:AND|OR){_WS}+{_COMPARISON})*{_WS}*\]"

_SINGLE = re.compile(
    rf"{_WS}*\[{_WS}*([a-z][a-z0-9-]*):({_PATH}){_WS}*={_WS}*'({_BODY})'{_WS}*\]{_WS}*"
)
_PATTERN = re.compile(rf"{_WS}*{_OBSERVATION}(?:{_WS}+(?:AND|OR){_WS}+{_OBSERVATION})*{_WS}*")
_OBSERVATION_RE = re.compile(_OBSERVATION)
_COMPARISON_RE = re.compile(rf"([a-z][a-z0-9-]*):({_PATH}){_WS}*={_WS}*(?:'({_BODY})'|([0-9]+))")
_STRING_RE = re.compile(rf"'{_BODY}'")
_AND_RE = re.compile(rf"{_WS}AND{_WS}")
_OR_RE = re.compile(rf"{_WS}OR{_WS}")
_UNESCAPE = re.compile(r"\\(['\\])")

_PATHS: dict[str, tuple[PathStep, ...]] = {}


def fast_observations(pattern: str) -> list[list[Comparison]] | None:
    """The comparisons of each observation expression, or None when the parser must decide."""
    single = _SINGLE.fullmatch(pattern)
    if single is not None:
        object_type, path, body = single.groups()
        return [[(object_type, _steps(path), _unescape(body))]]
    if _PATTERN.fullmatch(pattern) is None:
        return None

    observations = []
    for observation in _OBSERVATION_RE.finditer(pattern):
        text = observation.group()
        # AND binds tighter than OR (9.5); a mix needs the parse tree to group them right.
        if _is_mixed(text):
            return None
        observations.append([_comparison(m) for m in _COMPARISON_RE.finditer(text)])
    return observations


def _comparison(match: re.Match[str]) -> Comparison:
    object_type, path, body, integer = match.groups()
    literal: Literal = _unescape(body) if body is not None else int(integer)
    return object_type, _steps(path), literal


def _unescape(body: str) -> str:
    return _UNESCAPE.sub(r"\1", body) if "\\" in body else body


def _steps(path: str) -> tuple[PathStep, ...]:
    steps = _PATHS.get(path)
    if steps is None:
        head, _, rest = path.partition(".")
        steps = (head,) if not rest else (head, rest[1:-1] if rest.startswith("'") else rest)
        if len(_PATHS) < 256:  # hash keys are free text; keep the cache small
            _PATHS[path] = steps
    return steps


def _is_mixed(observation: str) -> bool:
    if "AND" not in observation or "OR" not in observation:
        return False
    bare = _STRING_RE.sub("''", observation)
    return _AND_RE.search(bare) is not None and _OR_RE.search(bare) is not None
