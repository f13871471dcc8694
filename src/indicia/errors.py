"""The one exception tree of Indicia.

Every error the package raises on purpose derives from :class:`IndiciaError`::

    IndiciaError
    +-- ObservableError      a value is not a valid IOC of its kind (names value and rule)
    +-- StixError            a STIX object breaks the STIX 2.1 rules (names the object and field)
    |   +-- PatternError     a STIX pattern is malformed or unsupported
    +-- InputError           a file, line or record could not be read (names source and position)
    +-- StoreError           the store cannot be opened, migrated or written
    |   +-- NotFoundError    no object has the given id
    +-- ApiError             carries the HTTP status the REST API answers with

A caller that wants to report "the input was bad" catches ``IndiciaError`` and prints it:
each message is written to be read by an analyst, not a developer.
"""

from __future__ import annotations


class IndiciaError(Exception):
    """Root of every error Indicia raises on purpose."""


class ObservableError(IndiciaError, ValueError):
    """A raw value is not a valid observable of the kind it claims or appears to be."""

    def __init__(self, value: str, rule: str) -> None:
        self.value = value
        self.rule = rule
        super().__init__(f"{value!r}: {rule}")


class StixError(IndiciaError, ValueError):
    """A STIX object breaks a rule of the STIX 2.1 specification."""

    def __init__(self, message: str, *, object_id: str | None = None, field: str | None = None):
        self.object_id = object_id
        self.field = field
        where = " ".join(
            part for part in (object_id, f"field {field!r}" if field else None) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class PatternError(StixError):
    """A STIX pattern is malformed, or uses a form Indicia cannot match."""


class InputError(IndiciaError):
    """Input could not be read; the message names the source and the position."""

    def __init__(
        self, source: str, reason: str, *, line: int | None = None, record: int | None = None
    ):
        self.source = source
        self.reason = reason
        self.line = line
        self.record = record
        position = (
            f":{line}" if line is not None else (f" record {record}" if record is not None else "")
        )
        super().__init__(f"{source}{position}: {reason}")


class StoreError(IndiciaError):
    """The store cannot be opened, migrated or written."""


class DuplicateError(StoreError):
    """A current indicator already records the observable an analyst tried to add again."""

    def __init__(self, value: str, indicator_id: str) -> None:
        self.value = value
        self.indicator_id = indicator_id
        super().__init__(
            f"{value} is already recorded as {indicator_id}; "
            f"change it with: indicia ioc edit {indicator_id}"
        )


class NotFoundError(StoreError, KeyError):
    """No stored object has the given id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class ApiError(IndiciaError):
    """An error the REST API reports, with the HTTP status it answers with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)
