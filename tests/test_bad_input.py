"""A table of bad inputs: each gets a clean 4xx with a message, and nothing is written."""

import pytest
from fastapi.testclient import TestClient

from timeseries_api.ingest.json_body import (
    MAX_FIELD_NAME_LENGTH,
    MAX_FIELDS_PER_POINT,
    MAX_STRING_VALUE_LENGTH,
)

from .conftest import ROBIN_TOKEN

T = ROBIN_TOKEN


def point(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"token": T, "series_id": 1, "fields": {"temp_C": 21.5}}
    body.update(overrides)
    return body


BAD_POINTS: list[tuple[str, bytes | dict[str, object] | list[object], int, str]] = [
    ("empty body", b"", 400, "empty"),
    ("not JSON", b"temp=21", 400, "not valid JSON"),
    ("truncated JSON", b'{"token": "' + T.encode() + b'", "series_id": 1, "fie', 400, "JSON"),
    ("NaN", b'{"token":"%s","series_id":1,"fields":{"v":NaN}}' % T.encode(), 400, "JSON"),
    ("Infinity", b'{"token":"%s","series_id":1,"fields":{"v":Infinity}}' % T.encode(), 400, "JSON"),
    ("a list of nothing", [], 400, "empty"),
    ("a string", b'"hello"', 400, "object"),
    ("missing series_id", {"token": T, "fields": {"v": 1}}, 400, "series_id"),
    ("missing fields", {"token": T, "series_id": 1}, 400, "fields"),
    ("series_id as text", point(series_id="one"), 400, "series_id"),
    ("series_id boolean", point(series_id=True), 400, "series_id"),
    ("series_id zero", point(series_id=0), 400, "series_id"),
    ("series_id fractional", point(series_id=1.5), 400, "series_id"),
    ("series_id huge", point(series_id=2**70), 400, "series_id"),
    ("fields a list", point(fields=[1, 2]), 400, "fields"),
    ("fields a number", point(fields=21.5), 400, "fields"),
    ("fields empty", point(fields={}), 400, "empty"),
    ("nested fields", point(fields={"a": {"b": 1}}), 400, "fields: 'a'"),
    ("list value", point(fields={"a": [1]}), 400, "fields: 'a'"),
    ("null value", point(fields={"a": None}), 400, "fields: 'a'"),
    ("number overflowing a double",
     b'{"token":"%s","series_id":1,"fields":{"v":1e400}}' % T.encode(), 400, "infinity"),
    ("integer just beyond int64", point(fields={"v": 2**63}), 400, "64-bit"),
    ("long field name", point(fields={"x" * (MAX_FIELD_NAME_LENGTH + 1): 1}), 400, "names"),
    ("empty field name", point(fields={"": 1}), 400, "names"),
    ("long string", point(fields={"s": "x" * (MAX_STRING_VALUE_LENGTH + 1)}), 400, "strings"),
    ("too many fields", point(fields={f"f{i}": i for i in range(MAX_FIELDS_PER_POINT + 1)}),
     400, "at most"),
    ("token a number", point(token=5), 400, "token"),
    ("token missing", {"series_id": 1, "fields": {"v": 1}}, 401, "token"),
    ("unknown series", point(series_id=404), 404, "does not exist"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [case[1:] for case in BAD_POINTS],
    ids=[case[0] for case in BAD_POINTS],
)
def test_bad_points_get_a_clean_4xx_and_write_nothing(
    client: TestClient,
    series_id: int,
    body: bytes | dict[str, object] | list[object],
    status: int,
    words: str,
) -> None:
    if isinstance(body, bytes):
        response = client.put("/point/new", content=body)
    else:
        response = client.put("/point/new", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["message"]
    assert isinstance(message, str) and words in message
    assert client.get("/points/count").json() == 0


BAD_SERIES: list[tuple[str, dict[str, object], int, str]] = [
    ("missing device_id", {"token": T, "device_desc": "d"}, 400, "device_id"),
    ("missing device_desc", {"token": T, "device_id": "i"}, 400, "device_desc"),
    ("desc a list", {"token": T, "device_desc": "d", "device_id": "i", "desc": []}, 400, "desc"),
    ("desc too long", {"token": T, "device_desc": "d", "device_id": "i", "desc": "x" * 1001},
     400, "desc"),
    ("device_id too long", {"token": T, "device_desc": "d", "device_id": "x" * 201},
     400, "device_id"),
    ("no token", {"device_desc": "d", "device_id": "i"}, 401, "token"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [case[1:] for case in BAD_SERIES],
    ids=[case[0] for case in BAD_SERIES],
)
def test_bad_series_get_a_clean_4xx_and_create_nothing(
    client: TestClient, body: dict[str, object], status: int, words: str
) -> None:
    response = client.put("/series/new", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert client.get("/series").json() == {}


def test_integers_beyond_64_bits_are_read_as_json_numbers_do(
    client: TestClient, series_id: int
) -> None:
    body = b'{"token":"%s","series_id":%d,"fields":{"v":%d}}' % (T.encode(), series_id, 2**64)
    assert client.put("/point/new", content=body).status_code == 201
    assert client.get("/point/1").json()["fields"]["v"] == float(2**64)


def test_numbers_are_accepted_where_the_seed_coerced_them_to_text(client: TestClient) -> None:
    response = client.put("/series/new", json={"token": T, "device_desc": "d", "device_id": 42})
    assert response.status_code == 201
    assert client.get("/series").json()["1"]["device_id"] == "42"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/series/abc", 400),
        ("GET", "/series/-1", 400),
        ("GET", "/series/0", 404),
        ("GET", "/series/99999999999999999999999999", 404),
        ("GET", "/point/1.5", 400),
        ("GET", "/point/99999999999999999999999999", 404),
        ("DELETE", "/point/abc", 400),
        ("GET", "/nowhere", 404),
        ("PATCH", "/point/new", 405),
        ("GET", "/series/new", 400),
    ],
)
def test_bad_paths_and_methods_answer_json_messages(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, json={"token": T})
    assert response.status_code == status, response.text
    assert response.json()["message"]


@pytest.mark.parametrize(
    "params",
    [{"from": "yesterday-ish"}, {"to": "2026-13-45"}, {"from": ""}],
)
def test_bad_time_bounds_are_400(
    client: TestClient, series_id: int, params: dict[str, str]
) -> None:
    response = client.get(f"/series/{series_id}", params=params)
    assert response.status_code == 400
    assert "ISO 8601" in response.json()["message"]


def test_body_over_the_limit_is_413(client: TestClient, series_id: int) -> None:
    limit = client.app.state.context.settings.max_body_bytes  # type: ignore[attr-defined]
    big = point(fields={"s": "x"}, padding="y" * limit)
    response = client.put("/point/new", json=big)
    assert response.status_code == 413
    assert "limit" in response.json()["message"]


def test_chunked_body_over_the_limit_is_413(client: TestClient, series_id: int) -> None:
    limit = client.app.state.context.settings.max_body_bytes  # type: ignore[attr-defined]

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"token":"' + T.encode() + b'","series_id":1,"fields":{"s":"'
        for _ in range(limit // 1024 + 1):
            yield b"x" * 1024
        yield b'"}}'

    response = client.put("/point/new", content=chunks())
    assert response.status_code == 413
    assert client.get("/points/count").json() == 0


def test_chunked_body_under_the_limit_is_accepted(client: TestClient, series_id: int) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"token":"' + T.encode() + b'",'
        yield b'"series_id":%d,"fields":{"v":1}}' % series_id

    response = client.put("/point/new", content=chunks())
    assert response.status_code == 201, response.text


def test_the_nul_character_is_refused_wherever_text_is_stored_as_it_is(
    client: TestClient, series_id: int
) -> None:
    """PostgreSQL's text cannot hold NUL: both backends refuse it with a 400, not a 503."""
    auth = {"Authorization": f"Token {T}"}
    nul_desc = {"token": T, "desc": "a\x00b", "device_desc": "d", "device_id": "i"}
    response = client.put("/series/new", json=nul_desc)
    assert response.status_code == 400 and "NUL" in response.json()["message"]
    response = client.post("/api/v2/write?bucket=a%00b", content="m v=1", headers=auth)
    assert response.status_code == 400 and "NUL" in response.json()["message"]
    response = client.post("/write?db=a%00b", content="m v=1", headers=auth)
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    response = client.post(f"/series/{series_id}/keys", json={"label": "x\x00"}, headers=auth)
    assert response.status_code == 400 and "NUL" in response.json()["message"]
    assert list(client.get("/series").json()) == [str(series_id)]
    assert client.get(f"/series/{series_id}/keys", headers=auth).json() == []
    # Inside a point's JSON document it is just an escaped character.
    body = {"token": T, "series_id": series_id, "fields": {"s": "a\x00b"}}
    assert client.put("/point/new", json=body).status_code == 201
    assert client.get(f"/series/{series_id}").json()[0]["fields"] == {"s": "a\x00b"}
