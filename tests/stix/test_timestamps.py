"""Timestamps: STIX 2.1 3.2 parsing (C011) and formatting, with a property-based round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indicia.errors import StixError
from indicia.stix import format_timestamp, now, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T10:20:30Z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.1Z", datetime(2024, 3, 5, 10, 20, 30, 100000, tzinfo=UTC)),
        ("2024-03-05T10:20:30.123Z", datetime(2024, 3, 5, 10, 20, 30, 123000, tzinfo=UTC)),
        ("2024-03-05T10:20:30.123456Z", datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC)),
        # C011: nanoseconds are truncated to microseconds, never rounded up.
        ("2024-03-05T10:20:30.123456789Z", datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC)),
        ("2024-03-05T10:20:30.9999999Z", datetime(2024, 3, 5, 10, 20, 30, 999999, tzinfo=UTC)),
        ("2016-02-29T23:59:59.000Z", datetime(2016, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_rfc3339_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-03-05T10:20:30", "not a STIX timestamp"),
        ("2024-03-05T10:20:30+00:00", "not a STIX timestamp"),
        ("2024-03-05 10:20:30Z", "not a STIX timestamp"),
        ("2024-03-05T10:20:30.Z", "not a STIX timestamp"),
        ("2024-03-05T10:20:30.1234567890Z", "not a STIX timestamp"),
        ("2024-03-05t10:20:30z", "not a STIX timestamp"),
        ("20240305T102030Z", "not a STIX timestamp"),
        ("2024-03-05T10:20:30,123Z", "not a STIX timestamp"),
        ("2024-03-\u0665T10:20:30Z", "not a STIX timestamp"),
        ("2023-02-29T10:20:30Z", "not a valid date or time"),
        ("2024-03-05T24:00:00Z", "not a valid date or time"),
        ("2024-13-05T10:20:30Z", "not a valid date or time"),
        ("0000-01-01T00:00:00Z", "not a valid date or time"),
    ],
)
def test_parse_timestamp_rejects_other_forms(text: str, message: str) -> None:
    with pytest.raises(StixError, match=message) as caught:
        parse_timestamp(text, field="valid_from", object_id="indicator--x")
    assert caught.value.field == "valid_from"
    assert caught.value.object_id == "indicator--x"


def test_parse_timestamp_rejects_non_strings() -> None:
    with pytest.raises(StixError, match="must be a timestamp string, not int"):
        parse_timestamp(1709634030)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("millisecond", "2024-03-05T10:20:30.123Z"),
        ("microsecond", "2024-03-05T10:20:30.123456Z"),
        ("auto", "2024-03-05T10:20:30.123456Z"),
    ],
)
def test_format_timestamp_precisions(precision: str, expected: str) -> None:
    dt = datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=UTC)
    assert format_timestamp(dt, precision=precision) == expected


def test_format_timestamp_whole_seconds_get_milliseconds() -> None:
    # C011 / stix2 #366: created and modified need at least millisecond precision.
    dt = datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)
    assert format_timestamp(dt) == "2024-03-05T10:20:30.000Z"
    assert format_timestamp(dt, precision="auto") == "2024-03-05T10:20:30.000Z"


def test_format_timestamp_converts_to_utc() -> None:
    dt = datetime(2024, 3, 5, 12, 20, 30, 5000, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(dt) == "2024-03-05T10:20:30.005Z"


def test_format_timestamp_rejects_naive_and_unknown_precision() -> None:
    with pytest.raises(StixError, match="naive datetime"):
        format_timestamp(datetime(2024, 3, 5, 10, 20, 30))
    with pytest.raises(StixError, match="precision must be one of"):
        format_timestamp(now(), precision="second")


def test_now_is_aware_utc() -> None:
    stamp = now()
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)


_AWARE = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@given(_AWARE)
def test_round_trip_microsecond(dt: datetime) -> None:
    assert parse_timestamp(format_timestamp(dt, precision="microsecond")) == dt


@given(_AWARE)
def test_round_trip_auto_is_lossless(dt: datetime) -> None:
    assert parse_timestamp(format_timestamp(dt, precision="auto")) == dt


@given(_AWARE)
def test_round_trip_millisecond_truncates(dt: datetime) -> None:
    back = parse_timestamp(format_timestamp(dt))
    assert back == dt.replace(microsecond=dt.microsecond // 1000 * 1000)
