"""The line protocol parser against its own serializer, over the whole grammar, plus the
documented examples of every rule."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timeseries_api.ingest.line_protocol import (
    PRECISION_NS,
    LinePoint,
    LineProtocolError,
    parse_lines,
    serialize_point,
)

# Names may hold anything printable, including every character that needs escaping (comma,
# equals sign, space, quote). Not backslashes: a backslash is no escape in a name, and one before a
# special character is read differently by InfluxDB's own parsers; string values do test them.
SPECIALS = ',= "'
printable = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
name = st.text(
    alphabet=printable.filter(lambda c: c != "\\") | st.sampled_from(SPECIALS),
    min_size=1,
    max_size=12,
).filter(lambda s: not s.startswith("#") and s.strip() == s)
field_value = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    # Subnormal doubles (below 2.2e-308) are left out: line-protocol-parser refuses them, a
    # known difference from InfluxDB that no sensor reading comes near.
    | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
    # Any text but NUL, which line-protocol-parser refuses (C strings); newlines are tested.
    | st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"
        ),
        max_size=20,
    )
)
points = st.builds(
    LinePoint,
    measurement=name,
    tags=st.dictionaries(name, name, max_size=4).map(lambda d: tuple(sorted(d.items()))),
    fields=st.dictionaries(name, field_value, min_size=1, max_size=5),
    time_ns=st.none() | st.integers(min_value=-(2**62), max_value=2**62),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(points, min_size=1, max_size=5))
def test_what_the_serializer_writes_the_parser_reads_back(batch: list[LinePoint]) -> None:
    body = "\n".join(serialize_point(p) for p in batch)
    result = parse_lines(body)
    assert result.errors == []
    assert result.points == batch


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_gives_points_or_line_errors_never_an_exception(body: str | bytes) -> None:
    result = parse_lines(body)
    for error in result.errors:
        assert "unable to parse" in str(error)


@pytest.mark.parametrize("precision", sorted(PRECISION_NS))
def test_every_precision_scales_to_nanoseconds(precision: str) -> None:
    point = parse_lines("m v=1 7", precision).points[0]
    assert point.time_ns == 7 * PRECISION_NS[precision]


def test_an_unknown_precision_is_a_request_error() -> None:
    with pytest.raises(LineProtocolError, match="precision"):
        parse_lines("m v=1", "fortnight")


@pytest.mark.parametrize(
    ("line", "measurement", "tags", "fields"),
    [
        # InfluxDB's documentation, "Special characters"
        ("wea\\,ther,loc=us v=1", "wea,ther", {"loc": "us"}, {"v": 1.0}),
        ("wea\\ ther v=1", "wea ther", {}, {"v": 1.0}),
        ("m,loc\\=a=b\\,c v=1", "m", {"loc=a": "b,c"}, {"v": 1.0}),
        ("m,loc=b\\ c v=1", "m", {"loc": "b c"}, {"v": 1.0}),
        ("m te\\=mp=1,te\\ mp=2,te\\,mp=3", "m", {}, {"te=mp": 1.0, "te mp": 2.0, "te,mp": 3.0}),
        ('m s="too \\"hot\\""', "m", {}, {"s": 'too "hot"'}),
        ('m s="back\\\\slash"', "m", {}, {"s": "back\\slash"}),
        ('m s="comma, space = fine"', "m", {}, {"s": "comma, space = fine"}),
        ("m v=1i,u=2u,f=-3.5e-2,g=.5", "m", {}, {"v": 1, "u": 2, "f": -0.035, "g": 0.5}),
        ("m a=t,b=T,c=true,d=True,e=TRUE", "m", {}, dict.fromkeys("abcde", True)),
        ("m a=f,b=F,c=false,d=False,e=FALSE", "m", {}, dict.fromkeys("abcde", False)),
    ],
)
def test_documented_examples(
    line: str, measurement: str, tags: dict[str, str], fields: dict[str, object]
) -> None:
    result = parse_lines(line)
    assert result.errors == []
    [point] = result.points
    assert (point.measurement, dict(point.tags), point.fields) == (measurement, tags, fields)


def test_fields_keep_the_order_of_the_line() -> None:
    assert list(parse_lines("m c=1,a=2,b=3").points[0].fields) == ["c", "a", "b"]


def test_strings_may_span_lines_comments_and_blank_lines_are_skipped() -> None:
    body = '# header\n\nm s="one\ntwo" 1\r\n  # indented comment\nm v=2 2\n'
    result = parse_lines(body)
    assert result.errors == []
    assert [p.fields for p in result.points] == [{"s": "one\ntwo"}, {"v": 2.0}]


@pytest.mark.parametrize(
    "line",
    [
        "m",  # no fields
        "m v=",  # no value
        "m =1",  # no field key
        "m,t= v=1",  # no tag value
        "m,=a v=1",  # no tag key
        "m v=1 12x",  # bad timestamp
        "m v=inf",
        "m v=nan",
        "m v=1_000",
        "m v=9223372036854775808i",  # beyond int64
        "m v=-1u",
        "m v=yes",
        ",t=1 v=1",  # no measurement
        "m,t=1,t=2 v=1",  # duplicate tag
    ],
)
def test_malformed_lines_are_reported_with_their_line_number(line: str) -> None:
    result = parse_lines(f"ok v=1\n{line}\nok v=2")
    assert len(result.points) == 2
    [error] = result.errors
    assert error.line == 2 and line[:20] in str(error)


def test_an_unterminated_string_runs_to_the_end_of_the_body_as_one_bad_line() -> None:
    result = parse_lines('ok v=1\nm s="unterminated\nok v=2')
    assert [p.fields for p in result.points] == [{"v": 1.0}]
    [error] = result.errors
    assert error.line == 2
