"""ThingSpeak endpoints given hostile or unusual input: a clear refusal, never a 5xx, never a
dropped connection, and ThingSpeak's own spellings of times accepted."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ROBIN_TOKEN
from .test_keys import ROBIN, new_key, points

NOT_ASCII_DIGITS = ["²", "٣", "99999999999999999999", "1" * 5000, "-1", "1.5", ""]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("name", ["results", "days", "minutes"])
def test_counts_that_are_not_ascii_digits_are_refused(
    client: TestClient, series_id: int, name: str, value: str
) -> None:
    response = client.get(f"/channels/{series_id}/feeds.json", params={name: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["error_code"] == "error_bad_request"


@pytest.mark.parametrize("name", ["timescale", "average", "median", "sum"])
def test_periods_that_are_not_ascii_digits_are_refused(
    client: TestClient, series_id: int, name: str
) -> None:
    for value in ("²", "1" * 5000, "99999999999999999999"):
        response = client.get(f"/channels/{series_id}/feeds.json", params={name: value})
        assert response.status_code == 400, response.text


def test_huge_counts_read_everything(client: TestClient, series_id: int) -> None:
    client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field1=1")
    url = f"/channels/{series_id}/feeds.json"
    for params in ({"days": "99999999999999999"}, {"minutes": str(2**63 - 1)},
                   {"results": str(2**63 - 1)}):  # fmt: skip
        response = client.get(url, params=params)
        assert response.status_code == 200, (params, response.text)
        assert [e["field1"] for e in response.json()["feeds"]] == ["1"]


def test_odd_field_numbers(client: TestClient, series_id: int) -> None:
    client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field1=1")
    for field in ("²", "0", "10000", "99999999999999999999"):
        for suffix in ("last", "last.json"):
            response = client.get(f"/channels/{series_id}/fields/{field}/{suffix}")
            assert response.status_code == 404, (field, suffix)
    named = client.put(
        f"/series/{series_id}/thingspeak-fields", headers=ROBIN, json={"fields": {"field²": "x"}}
    )
    assert named.status_code == 400 and "field²" in named.json()["message"]


def test_a_newline_in_a_field_is_refused_with_a_safe_header(
    client: TestClient, series_id: int
) -> None:
    client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field1=1")
    response = client.get(f"/channels/{series_id}/fields/a%0Ab\u00e9\u20ac/last")
    assert (response.status_code, response.text) == (404, "error_resource_not_found")
    header = response.headers["x-timeseries-error"]
    assert header.startswith("no field 'a\\nb") and header.isascii() and header.isprintable()


@pytest.mark.parametrize(
    "created_at", ["1e400", "-1e400", "99999999999999999999", "0001-01-01T00:00:00+05:00"]
)
def test_times_out_of_range_are_refused(
    client: TestClient, series_id: int, created_at: str
) -> None:
    key = new_key(client, series_id)["key"]
    update = client.get("/update", params={"api_key": key, "field1": 1, "created_at": created_at})
    assert update.text == "0" and "out of range" in update.headers["x-timeseries-error"]
    feed = client.get(f"/channels/{series_id}/feeds.json", params={"start": created_at})
    assert feed.status_code == 400, feed.text
    bulk = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": key, "updates": [{"created_at": created_at, "field1": 1}]},
    )
    assert bulk.status_code == 400, bulk.text
    assert points(client, series_id) == []


@pytest.mark.parametrize("delta_t", ["1e200", 1e200, 10**18, 300_000_000_000])
def test_huge_delta_t_is_refused(client: TestClient, series_id: int, delta_t: Any) -> None:
    response = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": ROBIN_TOKEN,
              "updates": [{"delta_t": 0, "field1": 1}, {"delta_t": delta_t, "field1": 2}]},
    )  # fmt: skip
    assert response.status_code == 400, response.text
    assert response.json()["error"]["error_code"] == "error_bad_request"
    assert points(client, series_id) == []


def test_deltas_adding_up_past_the_first_year_are_refused(
    client: TestClient, series_id: int
) -> None:
    largest = 253402300799 + 62135596800  # every delta alone is within bounds
    updates = [{"delta_t": largest, "field1": i} for i in range(3)]
    response = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": ROBIN_TOKEN, "updates": updates},
    )
    assert response.status_code == 400 and "out of range" in response.text


@pytest.mark.parametrize("sign", ["-", "+", "%2B", " "])
def test_hour_only_offsets_as_in_thingspeaks_documentation(
    client: TestClient, series_id: int, sign: str
) -> None:
    key = new_key(client, series_id)["key"]
    # An unencoded form body turns "+" into a space; "%2B" is the encoded "+".
    body = f"api_key={key}&field1=1&created_at=2026-11-24 13:22:54{sign}05"
    entry_id = client.post(
        "/update", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    ).text
    hours = -5 if sign == "-" else 5
    expected = datetime(2026, 11, 24, 13, 22, 54, tzinfo=UTC) - timedelta(hours=hours)
    stored = client.get(f"/point/{entry_id}").json()["timestamp"]
    assert datetime.fromisoformat(stored) == expected


# -- anything at all ----------------------------------------------------------------------------

FEED_PARAMS = ["results", "start", "end", "days", "minutes", "timescale", "average", "median",
               "sum", "status", "location", "timezone", "api_key"]  # fmt: skip
UPDATE_PARAMS = ["field1", "field2", "created_at", "status", "lat", "long", "elevation",
                 "channel_id", "timezone", "latitude", "longitude"]  # fmt: skip
READS = ["feeds.json", "feeds.csv", "feeds/last.json", "feeds/last.txt", "fields/1/last",
         "fields/1/last.json"]  # fmt: skip
# Random text, plus the spellings that once got through: Unicode digits, huge and infinite
# numbers, times at the ends of the calendar, control characters.
TRICKY = ["²", "1e400", "99999999999999999999", "0001-01-01T00:00:00+05:00", "a\nb", "daily",
          "9999-12-31T23:59:59-05", "Europe/Berlin", "../etc/passwd", "\x00"]  # fmt: skip
anything = st.text(max_size=30) | st.sampled_from(TRICKY) | st.integers(-(10**30), 10**30).map(str)
# Bare strings, numbers and nesting: what a JSON body may hold.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False,
    allow_infinity=False) | anything,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(anything, inner, max_size=3),
    max_leaves=5,
)  # fmt: skip
fuzz = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(params=st.dictionaries(st.sampled_from(FEED_PARAMS), anything, max_size=4))
def test_no_read_parameter_causes_a_5xx(
    client: TestClient, series_id: int, params: dict[str, str]
) -> None:
    for path in READS:
        response = client.get(f"/channels/{series_id}/{path}", params=params)
        assert response.status_code < 500, (path, params, response.text)


@fuzz
@given(
    params=st.dictionaries(st.sampled_from(UPDATE_PARAMS), anything, max_size=4),
    field=anything,
)
def test_no_update_parameter_causes_a_5xx(
    client: TestClient, series_id: int, params: dict[str, str], field: str
) -> None:
    sent = {"api_key": ROBIN_TOKEN, "channel_id": str(series_id), **params}
    for path in ("/update", "/update.json"):
        assert client.get(path, params=sent).status_code < 500
        assert client.post(path, data=sent).status_code < 500
    response = client.get(f"/channels/{series_id}/fields/{quote(field, safe='')}/last")
    assert response.status_code < 500


@fuzz
@given(
    update=st.dictionaries(st.sampled_from([*UPDATE_PARAMS, "delta_t"]), json_values, max_size=4),
    names=st.dictionaries(anything, json_values, max_size=3),
    zone=json_values,
)
def test_no_json_body_causes_a_5xx(
    client: TestClient,
    series_id: int,
    update: dict[str, Any],
    names: dict[str, Any],
    zone: Any,
) -> None:
    bulk = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": ROBIN_TOKEN, "timezone": zone,
              "updates": [update, {**update, "delta_t": 1}]},
    )  # fmt: skip
    assert bulk.status_code < 500, (update, bulk.text)
    sent = {"api_key": ROBIN_TOKEN, "channel_id": series_id, **update}
    assert client.post("/update.json", json=sent).status_code < 500
    renamed = client.put(
        f"/series/{series_id}/thingspeak-fields", headers=ROBIN, json={"fields": names}
    )
    assert renamed.status_code < 500
