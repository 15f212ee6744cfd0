"""Hourly summaries computed a column at a time equal those computed a value at a time."""

import math
from dataclasses import replace

from hypothesis import event, given
from hypothesis import strategies as st

from timeseries_api.domain import FieldSummary, NewPoint
from timeseries_api.storage.rollups import HOUR_US, _uniform_columns, summarize, summarize_points

values = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)


@st.composite
def batches(draw: st.DrawFn) -> list[NewPoint]:
    """Points in time order (as devices send them), mostly with one field layout."""
    names = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True))
    kinds = {name: draw(st.sampled_from([st.booleans(), st.integers(-(2**63), 2**63 - 1),
                                         st.floats(allow_nan=False, allow_infinity=False),
                                         st.text(max_size=3)])) for name in names}  # fmt: skip
    start = draw(st.integers(0, 10 * HOUR_US))
    steps = draw(st.lists(st.integers(0, HOUR_US // 2), min_size=16, max_size=60))
    points, time = [], start
    for step in steps:
        time += step
        if draw(st.integers(0, 19)):
            fields = {name: draw(kinds[name]) for name in names}
        else:  # now and then a point off the layout
            fields = draw(st.dictionaries(st.sampled_from("abcd"), values, min_size=1))
        points.append(NewPoint(time, b"", fields))
    if draw(st.booleans()):
        points.reverse()  # out of time order: summarized value by value
    return points


def _same(a: FieldSummary, b: FieldSummary) -> bool:
    """Equal, the float sums to their last bits (added in another order on Python 3.12+)."""
    if isinstance(a.sum, float) and isinstance(b.sum, float):
        close = math.isclose(a.sum, b.sum, rel_tol=1e-9, abs_tol=1e-300)
        return close and replace(a, sum=b.sum) == b
    return a == b


@given(batches())
def test_column_summaries_equal_value_by_value_summaries(points: list[NewPoint]) -> None:
    expected = summarize((p.ts_us, p.fields) for p in points if p.fields is not None)
    event("columns" if _uniform_columns(points) is not None else "value by value")
    got = summarize_points(points)
    assert got.keys() == expected.keys()
    for key, summary in expected.items():
        assert _same(got[key], summary), key
