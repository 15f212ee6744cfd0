"""Every parser of outside input, fed by hypothesis: only our own validation error ever escapes,
and what a parser accepts reads back as it was sent.

Covered: JSON point bodies (ingest/json_points.py), new-series bodies, ISO 8601 times and epoch
timestamps (timeparse.py), line protocol into series writes (ingest/line_protocol_points.py),
gzip bodies, ids in paths, query parameters and credentials (through the HTTP interface), and
the users file. The line protocol grammar itself has its own properties in test_line_protocol.py.
"""

import base64
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from timeseries_api.api.ids import parse_id
from timeseries_api.errors import BadInput, NotFound
from timeseries_api.ingest.json_body import (
    MAX_FIELD_NAME_LENGTH,
    MAX_STRING_VALUE_LENGTH,
    NewSeriesBody,
    parse_object,
    validate,
)
from timeseries_api.ingest.json_points import parse_points_request
from timeseries_api.ingest.line_protocol import LinePoint, serialize_point
from timeseries_api.ingest.line_protocol_points import points_from_lines
from timeseries_api.timeparse import (
    EPOCH_UNITS_US,
    MAX_US,
    MIN_US,
    TimeWindow,
    format_us,
    parse_epoch_unit,
    parse_iso,
    parse_timestamp,
)
from timeseries_api.users import UsersFileError, parse_users

from .conftest import ROBIN_TOKEN

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW_US = 1_763_971_200_000_000  # 2025-11-24T08:00:00Z
WINDOW = TimeWindow(parse_iso("2000-01-01T00:00:00Z"), 86_400_000_000)
IN_WINDOW = st.integers(min_value=WINDOW.min_us, max_value=NOW_US + WINDOW.max_ahead_us)

fast = settings(max_examples=300, deadline=None)
with_client = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# -- values -----------------------------------------------------------------------------------

# Keys a point parser looks at, so that generated objects come near to valid ones.
KNOWN_KEYS = ["token", "series_id", "fields", "timestamp", "precision", "points", "desc",
              "device_desc", "device_id"]  # fmt: skip
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
field_names = st.text(min_size=1, max_size=MAX_FIELD_NAME_LENGTH)
field_values = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=MAX_STRING_VALUE_LENGTH)
)
good_fields = st.dictionaries(field_names, field_values, min_size=1, max_size=20)


def _same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values, with integers and floats kept apart (5 is not 5.0)."""
    return orjson.dumps(a) == orjson.dumps(b) and type(a) is type(b)


# -- JSON point bodies ------------------------------------------------------------------------


@fast
@given(
    st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    st.none() | st.text(max_size=4),
)
def test_any_point_body_parses_or_is_bad_input(body: bytes, precision: str | None) -> None:
    try:
        parsed = parse_points_request(body, precision, WINDOW, NOW_US)
    except BadInput as exc:
        assert exc.message
        return
    for group in parsed.groups:
        assert group.series_id >= 1 and group.points
        for point in group.points:
            assert WINDOW.min_us <= point.ts_us <= NOW_US + WINDOW.max_ahead_us
            assert isinstance(orjson.loads(point.fields_json), dict)


@fast
@given(
    series_id=st.integers(min_value=1, max_value=2**63 - 1),
    points=st.lists(st.tuples(good_fields, IN_WINDOW), min_size=1, max_size=5),
    unit=st.sampled_from(["s", "ms", "us", "ns", "iso"]),
)
def test_accepted_points_keep_their_fields_and_times(
    series_id: int, points: list[tuple[dict[str, Any], int]], unit: str
) -> None:
    def stamp(us: int) -> Any:
        if unit == "iso":
            return format_us(us)
        return us * 1000 if unit == "ns" else us // int(EPOCH_UNITS_US[unit])

    sent = [{"fields": fields, "timestamp": stamp(us)} for fields, us in points]
    body = {"series_id": series_id, "points": sent}
    if unit != "iso":
        body["precision"] = unit
    parsed = parse_points_request(orjson.dumps(body), None, WINDOW, NOW_US)
    [group] = parsed.groups
    assert group.series_id == series_id
    for (fields, us), point in zip(points, group.points, strict=True):
        assert all(_same_json(v, orjson.loads(point.fields_json)[k]) for k, v in fields.items())
        granularity = {"s": 1_000_000, "ms": 1_000}.get(unit, 1)  # a coarser unit truncates
        assert point.ts_us == us // granularity * granularity


@fast
@given(json_values)
def test_any_new_series_body_validates_or_is_bad_input(data: Any) -> None:
    try:
        body = validate(NewSeriesBody, parse_object(json.dumps(data).encode()))
    except BadInput as exc:
        assert exc.message
        return
    assert isinstance(data, dict)
    assert body.device_id == str(data["device_id"]) or isinstance(data["device_id"], float)


# -- times ------------------------------------------------------------------------------------


@fast
@given(st.text(max_size=40))
def test_any_text_is_an_iso_time_or_bad_input(text: str) -> None:
    try:
        us = parse_iso(text, "from")
    except BadInput as exc:
        assert "from" in exc.message
        return
    assert isinstance(us, int)


@fast
@given(
    st.datetimes(timezones=st.none() | st.timezones() | st.just(UTC)),
    st.sampled_from(["seconds", "milliseconds", "microseconds", "auto"]),
)
def test_iso_times_read_back_exactly(moment: datetime, timespec: str) -> None:
    text = moment.isoformat(timespec=timespec)
    assume(not (moment.tzinfo and moment.utcoffset() is None))
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        expected = (aware - EPOCH) // timedelta(microseconds=1)
    except OverflowError:
        return
    truncated = {"seconds": 1_000_000, "milliseconds": 1_000}.get(timespec, 1)
    assert parse_iso(text) - expected == -(aware.microsecond % truncated)


@fast
@given(st.integers(min_value=MIN_US, max_value=MAX_US))
def test_what_we_write_as_a_time_we_read_back(us: int) -> None:
    assert parse_iso(format_us(us)) == us


@fast
@given(json_values, st.sampled_from(sorted(EPOCH_UNITS_US)))
def test_any_timestamp_value_is_a_time_or_bad_input(value: Any, unit: str) -> None:
    try:
        us = parse_timestamp(value, unit, "timestamp")
    except BadInput as exc:
        assert "timestamp" in exc.message
        return
    assert MIN_US <= us <= MAX_US


@fast
@given(st.integers(min_value=-(2**62), max_value=2**62), st.sampled_from(["s", "ms", "us", "ns"]))
def test_integer_epochs_read_back_in_every_unit(value: int, unit: str) -> None:
    try:
        us = parse_timestamp(value, unit, "t")
    except BadInput:
        assert not MIN_US <= value * EPOCH_UNITS_US[unit] <= MAX_US
        return
    assert us == (value // 1000 if unit == "ns" else value * int(EPOCH_UNITS_US[unit]))


@fast
@given(st.none() | st.text(max_size=5))
def test_any_precision_is_a_unit_or_bad_input(text: str | None) -> None:
    try:
        assert parse_epoch_unit(text) in EPOCH_UNITS_US
    except BadInput as exc:
        assert "precision" in exc.message


# -- line protocol into series writes ---------------------------------------------------------

line_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=10,
).filter(lambda s: s.strip() == s and not s.startswith("#") and "\\" not in s)


@fast
@given(
    st.binary(max_size=300)
    | st.lists(
        st.builds(
            lambda m, tag, value: f"{m},series_id={tag} v={value}",
            line_names,
            # Digits of every script: only ASCII ones make an id.
            st.text(alphabet=st.characters(categories=("Nd", "No")), min_size=1, max_size=4)
            | st.text(max_size=6),
            st.integers(),
        ),
        max_size=3,
    ).map(lambda lines: "\n".join(lines).encode()),
    st.sampled_from(["ns", "us", "ms", "s", "m", "h"]) | st.text(max_size=3),
)
def test_any_line_protocol_body_gives_points_and_messages_or_bad_input(
    body: bytes, precision: str
) -> None:
    try:
        batch = points_from_lines(body, precision, WINDOW, NOW_US)
    except BadInput as exc:
        assert "precision" in exc.message
        return
    assert all(isinstance(message, str) and message for message in batch.errors)
    for target, points in batch.points.items():
        assert target >= 1 if isinstance(target, int) else target[0]
        assert all(WINDOW.min_us <= p.ts_us for p in points)


@fast
@given(
    st.builds(
        LinePoint,
        measurement=line_names,
        tags=st.dictionaries(line_names.filter(lambda s: s != "series_id"), line_names, max_size=3)
        .map(lambda d: tuple(sorted(d.items()))),
        fields=st.dictionaries(
            line_names,
            st.booleans()
            | st.integers(min_value=-(2**63), max_value=2**63 - 1)
            | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
            | st.text(
                alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",),
                                       exclude_characters="\x00"),
                max_size=MAX_STRING_VALUE_LENGTH,
            ),
            min_size=1,
            max_size=5,
        ),
        time_ns=IN_WINDOW.map(lambda us: us * 1000),
    )
)  # fmt: skip
def test_accepted_lines_keep_their_series_fields_and_times(point: LinePoint) -> None:
    batch = points_from_lines(serialize_point(point).encode(), "ns", WINDOW, NOW_US)
    assert batch.errors == []
    [(target, [stored])] = batch.points.items()
    assert target == (point.measurement, point.tags)
    assert point.time_ns is not None and stored.ts_us == point.time_ns // 1000
    decoded = orjson.loads(stored.fields_json)
    for name, value in point.fields.items():
        assert _same_json(value, decoded[name]) or (
            isinstance(value, float) and math.isclose(value, decoded[name], rel_tol=0)
        )


# -- ids, query parameters and credentials, through the HTTP interface --------------------------


@fast
@given(st.text(max_size=30))
def test_any_path_id_is_an_id_or_bad_input_or_not_found(text: str) -> None:
    try:
        value = parse_id(text, "series")
    except (BadInput, NotFound):
        return
    assert str(value) == text.lstrip("0") and value >= 1


query_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@with_client
@given(callback=query_text, start=query_text, end=query_text)
def test_any_read_query_answers_200_or_400(
    client: TestClient, series_id: int, callback: str, start: str, end: str
) -> None:
    response = client.get(
        f"/series/{series_id}", params={"callback": callback, "from": start, "to": end}
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["message"]
    listing = client.get("/series", params={"callback": callback})
    assert listing.status_code in (200, 400)
    if listing.status_code == 200 and callback:
        assert listing.text.startswith(f"/**/{callback}(")


@with_client
@given(
    precision=query_text,
    db=query_text,
    bucket=query_text,
    body=st.binary(max_size=100),
    gzip=st.booleans(),
)
def test_any_influx_query_and_body_answers_204_or_400(
    client: TestClient, precision: str, db: str, bucket: str, body: bytes, gzip: bool
) -> None:
    headers = {"Authorization": f"Token {ROBIN_TOKEN}"}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    v1 = client.post("/write", params={"db": db, "precision": precision}, content=body,
                     headers=headers)  # fmt: skip
    assert v1.status_code in (204, 400), v1.text
    if v1.status_code == 400:
        assert v1.json()["error"] and v1.headers["x-influxdb-error"]
    v2 = client.post("/api/v2/write", params={"bucket": bucket, "precision": precision},
                     content=body, headers=headers)  # fmt: skip
    assert v2.status_code in (204, 400), v2.text
    if v2.status_code == 400:
        assert v2.json()["message"]


header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)


@with_client
@given(
    authorization=header_text
    | st.sampled_from(["Bearer ", "Token ", "Basic "]).flatmap(
        lambda scheme: (header_text | st.binary(max_size=30).map(
            lambda b: base64.b64encode(b).decode())).map(lambda rest: scheme + rest)
    ),
)  # fmt: skip
def test_any_authorization_header_answers_400_or_401(
    client: TestClient, series_id: int, authorization: str
) -> None:
    assume(ROBIN_TOKEN not in authorization)
    headers = {"Authorization": authorization.encode("latin-1")}
    point = client.post(
        "/point/new", json={"series_id": series_id, "fields": {"v": 1}}, headers=headers
    )
    assert point.status_code in (400, 401), point.text
    assert point.json()["message"]
    for path in ("/write?db=d", "/api/v2/write?bucket=b"):
        response = client.post(path, content=b"m v=1", headers=headers)
        assert response.status_code in (400, 401), response.text


# -- the users file ---------------------------------------------------------------------------


@fast
@given(st.text(max_size=100) | json_values.map(json.dumps))
def test_any_users_file_loads_or_is_a_users_file_error(text: str) -> None:
    try:
        users = parse_users(text)
    except UsersFileError as exc:
        assert "users file" in str(exc)
        return
    assert all(isinstance(user.id, int) for user in users.values())


@pytest.mark.parametrize("offset", [timedelta(hours=9), timedelta(hours=-5, minutes=-30)])
def test_an_offset_moves_the_time_by_exactly_that_much(offset: timedelta) -> None:
    moment = datetime(2026, 11, 24, 8, 30, tzinfo=timezone(offset))
    assert parse_iso(moment.isoformat()) == parse_iso("2026-11-24T08:30:00Z") - offset // timedelta(
        microseconds=1
    )


def test_text_holding_nul_is_refused_alike_on_every_backend(
    client: TestClient, series_id: int
) -> None:
    """PostgreSQL's text cannot store NUL: it is bad input everywhere, never a 503 or a 500."""
    auth = {"Authorization": f"Bearer {ROBIN_TOKEN}"}
    series = client.put(
        "/series/new", headers=auth, json={"device_desc": "a\x00", "device_id": "i"}
    )
    assert series.status_code == 400 and "NUL" in series.json()["message"]
    key = client.post(f"/series/{series_id}/keys", headers=auth, json={"label": "a\x00"})
    assert key.status_code == 400 and "NUL" in key.json()["message"]
    v2 = client.post("/api/v2/write?bucket=b%00", content="m v=1", headers=auth)
    assert v2.status_code == 400 and "NUL" in v2.json()["message"]
    v1 = client.post("/write?db=b%00", content="m v=1", headers=auth)
    assert v1.status_code == 400 and "NUL" in v1.json()["error"]
    assert client.get("/points/count").json() == 0
