"""Every way a user may write a time, and the one way we write it out."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeseries_api.errors import BadInput
from timeseries_api.storage.documents import documents, point_document
from timeseries_api.timeparse import (
    MAX_US,
    MIN_US,
    TimeWindow,
    format_us,
    format_us_at,
    iso_pieces,
    parse_duration,
    parse_iso,
    parse_time,
    parse_timestamp,
    parse_utc_offset,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EDGES = [MIN_US, MIN_US + 1, -86_400_000_001, -1, 0, 1, 999_999, 1_000_000, 86_399_999_999,
         951_782_400_000_000, 1_763_971_200_123_456, MAX_US - 1, MAX_US]  # fmt: skip


@pytest.mark.parametrize("us", EDGES + [i * 7_777_777_777_777 for i in range(-7988, 32000, 997)])
def test_format_us_is_isoformat_with_microseconds(us: int) -> None:
    expected = (EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")
    assert format_us(us) == expected


@given(
    st.lists(st.integers(MIN_US, MAX_US) | st.integers(-(10**9), 10**9) | st.sampled_from(EDGES))
)
def test_iso_pieces_make_each_time_as_format_us(times: list[int]) -> None:
    joined = ["".join(pieces) + "+00:00" for pieces in zip(*iso_pieces(times), strict=True)]
    assert joined == [format_us(us) for us in times]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**63 - 1),
            st.integers(-(10**15), 10**17),
            st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=2),
        )
    ),
    st.integers(1, 2**63 - 1),
)
def test_documents_of_many_points_are_each_point_document(
    points: list[tuple[int, int, dict[str, object]]], series_id: int
) -> None:
    ids, times, fields = ([p[i] for p in points] for i in range(3))
    texts = [orjson.dumps(f) for f in fields]
    assert documents(ids, series_id, times, [t.decode() for t in texts]) == [
        point_document(i, series_id, t, f) for i, t, f in zip(ids, times, texts, strict=True)
    ]


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


NOW = 1_763_971_200_000_000  # 2025-11-24T08:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-1h", NOW - 3_600_000_000),
        ("now-30m", NOW - 1_800_000_000),
        ("-7d", NOW - 7 * 86_400_000_000),
        ("now+2w", NOW + 14 * 86_400_000_000),
        ("-45s", NOW - 45_000_000),
        ("1763971200", 1_763_971_200_000_000),
        ("1763971200.123456", 1_763_971_200_123_456),
        ("-1.5", -1_500_000),
        ("2025-11-24T17:00:00+09:00", NOW),
        ("2025-11-24T17:00:00 09:00", NOW),  # an unencoded "+" in a query string
        ("2025-11-24 08:00:00", NOW),
        ("2025-11-24", NOW - 8 * 3_600_000_000),
    ],
)
def test_parse_time_reads_every_syntax(text: str, expected: int) -> None:
    assert parse_time(text, "from", NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "1h", "-1y", "-0h", "now-", "1e9", "99999999999999"])
def test_parse_time_refuses_with_the_parameter_name(text: str) -> None:
    with pytest.raises(BadInput, match="^from"):
        parse_time(text, "from", NOW)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("Z", 0), ("UTC", 0), ("+09:00", 540), ("-05:30", -330), ("+0545", 345), ("-3", -180),
     (" 09:00", 540)],
)  # fmt: skip
def test_parse_utc_offset(text: str, minutes: int) -> None:
    assert parse_utc_offset(text) == minutes * 60_000_000


@pytest.mark.parametrize("text", ["", "+24:00", "+09:60", "Asia/Tokyo", "9", "+9:0"])
def test_parse_utc_offset_refuses(text: str) -> None:
    with pytest.raises(BadInput, match="^tz"):
        parse_utc_offset(text)


@pytest.mark.parametrize("offset_minutes", [0, 540, -330, 345, -720, 840])
@pytest.mark.parametrize("us", EDGES[3:-3])
def test_format_us_at_is_isoformat_in_that_offset(us: int, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    expected = (EPOCH + timedelta(microseconds=us)).astimezone(zone)
    assert format_us_at(us, offset_minutes * 60_000_000) == expected.isoformat(
        timespec="microseconds"
    )


@pytest.mark.parametrize(
    ("text", "us"),
    [("30s", 30_000_000), ("5m", 300_000_000), ("1h", 3_600_000_000), ("1w", 604_800_000_000)],
)
def test_parse_duration(text: str, us: int) -> None:
    assert parse_duration(text, "every") == us
