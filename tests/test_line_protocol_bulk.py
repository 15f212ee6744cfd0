"""The fast path for plain line protocol bodies reads every body it takes exactly as the
line-by-line parser does: the same series, points, documents, times and hourly summaries."""

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from timeseries_api.domain import FieldSummary
from timeseries_api.ingest.line_protocol import PRECISION_NS
from timeseries_api.ingest.line_protocol_bulk import bulk_points
from timeseries_api.ingest.line_protocol_points import (
    LineBatch,
    _target,
    points_from_lines,
    points_line_by_line,
)
from timeseries_api.storage.rollups import summarize_points
from timeseries_api.timeparse import TimeWindow

NOW_US = 1_700_000_000_000_000
WINDOW = TimeWindow(946_684_800_000_000, 86_400_000_000)  # 2000-01-01, a day ahead


def _bulk(text: str, precision: str = "s") -> LineBatch | None:
    found = bulk_points(text, PRECISION_NS[precision], WINDOW, NOW_US, _target)
    if found is None:
        return None
    return LineBatch(
        {t: points for t, (points, _) in found.items()},
        columns={t: columns for t, (_, columns) in found.items()},
    )


def _line_by_line(text: str, precision: str = "s") -> LineBatch:
    return points_line_by_line(text, PRECISION_NS[precision], WINDOW, NOW_US)


def _same_summary(a: FieldSummary, b: FieldSummary) -> bool:
    """Equal, but for the last bits of a float sum (added in another order on Python 3.12+)."""
    if isinstance(a.sum, float) or isinstance(b.sum, float):
        assert a.sum is not None and b.sum is not None
        return math.isclose(a.sum, b.sum, rel_tol=1e-12, abs_tol=1e-300) and (
            (a.count, a.numeric, a.min, a.max, a.first_us, a.first, a.last_us, a.last, a.kind)
            == (b.count, b.numeric, b.min, b.max, b.first_us, b.first, b.last_us, b.last, b.kind)
        )
    return a == b


def _assert_same(fast: LineBatch, slow: LineBatch) -> None:
    assert not slow.errors
    assert list(fast.points) == list(slow.points)  # the same series, in the same order
    for target, points in slow.points.items():
        got = fast.points[target]
        assert [(p.ts_us, p.fields_json) for p in got] == [(p.ts_us, p.fields_json) for p in points]
        fast_summaries = summarize_points(got, fast.columns[target])
        slow_summaries = summarize_points(points)
        assert fast_summaries.keys() == slow_summaries.keys()
        for key, summary in slow_summaries.items():
            assert _same_summary(fast_summaries[key], summary), key


BENCH_BODY = "\n".join(
    f"weather,location=attic,sensor=s{i % 4} temperature={20 + (i % 70) / 10:.1f},"
    f"humidity={40 + i % 20}i,ok=true {1_600_000_000 + i}"
    for i in range(5000)
)


@pytest.mark.parametrize(
    "body",
    [
        BENCH_BODY,
        BENCH_BODY + "\n",
        "cpu,host=a usage_idle=99.5,usage_user=0.25 1600000000\n"
        "mem,host=a used=1024i,free=2048u,ok=t 1600000000\n"
        "cpu,host=a usage_idle=98,usage_user=1.5e-1 1600000010\n",
        'status,device=esp32 state="all good, so far",rssi=-61i 1600000000',
        "m f=1\nm f=2\n",  # no timestamps: stamped now
        "m,series_id=7 v=1.5 1600000000",
    ],
)
def test_plain_bodies_take_the_fast_path_and_read_as_line_by_line(body: str) -> None:
    fast = _bulk(body)
    assert fast is not None, "the fast path declined a plain body"
    _assert_same(fast, _line_by_line(body))


@pytest.mark.parametrize(
    "body",
    [
        "# a comment\nm f=1 1600000000",
        "m\\ x f=1 1600000000",  # an escape
        "m f=1 1600000000\r\n",
        "m f=1 1600000000\nm g=1 1600000000",  # one series, two layouts
        "m,b=2,a=1 f=1 1600000000\nm,a=1,b=2 f=1 1600000001",  # one series, two spellings
        "m f=1 1600000000\nm f=1",  # stamped and not
        "m f=1 100",  # before the time window
        "m f=1i,f=2i 1600000000",  # a repeated field
        "m,series_id=x f=1 1600000000",
        "m f=1e400 1600000000",
        'm s="a\nb" 1600000000',  # a string across lines
        "m f=١٦ 1600000000",  # digits of another script, which the parser refuses
        "m f=1 ١٦٠٠٠٠٠٠٠٠",
    ],
)
def test_other_bodies_are_left_to_the_line_by_line_parser(body: str) -> None:
    assert _bulk(body) is None


identifier = st.text(alphabet="abcxyz_09.-%", min_size=1, max_size=6)
odd_name = st.sampled_from(["temp C", "a=b", "é", "#x", '"q"', "x,y", ""])
name = st.one_of([identifier] * 9 + [odd_name])  # mostly plain names, sometimes not
value_kinds = [
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        [
            "1",
            "1.",
            ".5",
            "-.5",
            "-0",
            "01",
            "1e5",
            "1E+5",
            "1.5e-3",
            "+1",
            "1e400",
            "1.2.3",
            ".",
            "-.",
            "1.e5",
            ".5e1",
            "1e-99",
        ]
    ),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: f"{i}i"),
    st.integers(-(10**6), 10**6).map(lambda i: f"{i}i"),
    st.integers(0, 2**64).map(lambda i: f"{i}u"),
    st.sampled_from(["t", "T", "true", "True", "TRUE", "f", "false", "FALSE", "tRue", "-5u"]),
    st.text(alphabet='ab ,="\n', max_size=5).map(lambda s: f'"{s}"'),
    st.text(alphabet="ab ,=é", max_size=5).map(lambda s: f'"{s}"'),
]
value_text = st.one_of(value_kinds)
good_stamp = st.integers(1_500_000_000, 1_700_000_000).map(lambda t: f" {t}")
odd_stamp = st.sampled_from(
    [
        "",
        " 100",
        " 01600000000",
        " -5",
        " 99999999999999999999",
        "  1600000000",
        " 1.5",
        " ١٦٠٠٠٠٠٠٠٠",
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Bodies of a few series, mostly plain and consistent, sometimes not."""
    series = draw(
        st.lists(
            st.tuples(
                identifier,
                st.lists(st.tuples(name, name), max_size=3),
                st.lists(name, min_size=1, max_size=3),
            ),
            min_size=1,
            max_size=3,
        )
    )
    kinds = {
        i: [draw(st.sampled_from(value_kinds)) for _ in fields]
        for i, (_, _, fields) in enumerate(series)
    }
    stamp = draw(st.sampled_from([st.just(""), good_stamp, good_stamp | odd_stamp]))
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        i = draw(st.integers(0, len(series) - 1))
        measurement, tags, fields = series[i]
        key = ",".join([measurement] + [f"{k}={v}" for k, v in tags])
        if draw(st.integers(0, 9)):  # mostly the series' own spellings of values
            values = [draw(kind) for kind in kinds[i]]
        else:
            values = [draw(value_text) for _ in fields]
        body = ",".join(f"{f}={v}" for f, v in zip(fields, values, strict=False))
        lines.append(f"{key} {body}{draw(stamp)}")
    return "\n".join(lines)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.sampled_from(["s", "ms", "ns", "h"]))
def test_whatever_the_fast_path_takes_it_reads_as_the_line_by_line_parser(
    body: str, precision: str
) -> None:
    fast = _bulk(body, precision)
    event("fast path" if fast is not None else "declined")
    if fast is not None:
        _assert_same(fast, _line_by_line(body, precision))


def test_the_server_entry_point_gives_the_same_batch_either_way() -> None:
    fast = points_from_lines(BENCH_BODY.encode(), "s", WINDOW, NOW_US)
    assert fast.columns  # took the fast path
    _assert_same(fast, _line_by_line(BENCH_BODY))
