"""Every way a user may write a time, and the one way we write it out."""

from datetime import UTC, datetime, timedelta

import pytest

from timeseries_api.errors import BadInput
from timeseries_api.timeparse import (
    MAX_US,
    MIN_US,
    TimeWindow,
    format_us,
    parse_iso,
    parse_timestamp,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EDGES = [MIN_US, MIN_US + 1, -86_400_000_001, -1, 0, 1, 999_999, 1_000_000, 86_399_999_999,
         951_782_400_000_000, 1_763_971_200_123_456, MAX_US - 1, MAX_US]  # fmt: skip


@pytest.mark.parametrize("us", EDGES + [i * 7_777_777_777_777 for i in range(-7988, 32000, 997)])
def test_format_us_is_isoformat_with_microseconds(us: int) -> None:
    expected = (EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")
    assert format_us(us) == expected


@pytest.mark.parametrize("us", EDGES)
def test_parse_iso_reads_back_what_format_us_writes(us: int) -> None:
    assert parse_iso(format_us(us)) == us


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T08:30:00Z", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
        ("2026-11-24T17:30:00+09:00", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
        ("2026-11-24 08:30", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
        ("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC)),
        ("20261124T083000Z", datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
    ],
)
def test_parse_iso_accepts_the_usual_spellings(text: str, expected: datetime) -> None:
    assert parse_iso(text) == (expected - EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize("text", ["", "now-ish", "2026-02-30", "24/11/2026", "2026-11-24T25:00"])
def test_parse_iso_refuses_with_an_example(text: str) -> None:
    with pytest.raises(BadInput, match="ISO 8601"):
        parse_iso(text)


def test_epoch_numbers_in_every_unit_agree() -> None:
    us = 1_763_971_200_123_456
    assert parse_timestamp(1_763_971_200.123456, "s", "t") == us
    assert parse_timestamp(1_763_971_200_123, "ms", "t") == us - 456
    assert parse_timestamp(us, "us", "t") == us
    assert parse_timestamp(us * 1000 + 999, "ns", "t") == us  # truncated, never rounded up


@pytest.mark.parametrize("value", [True, None, [1], {"s": 1}, 10**30, -(10**30)])
def test_epoch_values_that_are_not_times_are_refused(value: object) -> None:
    with pytest.raises(BadInput):
        parse_timestamp(value, "s", "timestamp")


def test_the_window_names_the_setting_to_change() -> None:
    window = TimeWindow(parse_iso("2000-01-01"), 86_400_000_000)
    now = parse_iso("2026-11-24")
    window.check(now, now, "t")
    with pytest.raises(BadInput, match="min_timestamp"):
        window.check(0, now, "t")
    with pytest.raises(BadInput, match="max_future_seconds"):
        window.check(now + 86_400_000_001, now, "t")
