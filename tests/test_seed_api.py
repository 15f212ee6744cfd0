"""Every endpoint of the seed, through the HTTP interface, with the shapes its clients rely on."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from .conftest import ALICE_TOKEN, ROBIN_TOKEN


def add_point(
    client: TestClient, series_id: int, fields: dict[str, object], token: str = ROBIN_TOKEN
) -> int:
    response = client.put(
        "/point/new", json={"token": token, "series_id": series_id, "fields": fields}
    )
    assert response.status_code == 201, response.text
    point_id: int = response.json()
    return point_id


def test_new_series_answers_201_and_a_bare_integer_id(client: TestClient) -> None:
    response = client.put(
        "/series/new",
        json={"token": ROBIN_TOKEN, "desc": "Tokyo", "device_desc": "ESP32", "device_id": "ab"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.text == "1"


def test_new_series_ignores_unknown_keys_and_accepts_post(client: TestClient) -> None:
    response = client.post(
        "/series/new",
        json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i", "firmware": "1.2"},
    )
    assert response.status_code == 201
    listing = client.get("/series").json()
    assert listing["1"]["desc"] == ""
    assert "firmware" not in listing["1"]


def test_series_listing_is_keyed_by_id_with_owner_name_and_count(client: TestClient) -> None:
    before = datetime.now(UTC)
    robin = client.put(
        "/series/new",
        json={"token": ROBIN_TOKEN, "desc": "Tokyo", "device_desc": "ESP32", "device_id": "12:AB"},
    ).json()
    alice = client.put(
        "/series/new",
        json={"token": ALICE_TOKEN, "desc": "Balcony", "device_desc": "ESP8266", "device_id": "x"},
    ).json()
    for value in (13, 13.5, 12.5):
        add_point(client, robin, {"temp_C": value})
    add_point(client, alice, {"hum_pct": 71}, ALICE_TOKEN)

    listing = client.get("/series").json()

    assert list(listing) == [str(robin), str(alice)]
    entry = listing[str(robin)]
    assert set(entry) == {"id", "desc", "device_desc", "device_id", "timestamp", "user", "count"}
    assert entry["id"] == robin
    assert (entry["desc"], entry["device_desc"], entry["device_id"]) == ("Tokyo", "ESP32", "12:AB")
    assert entry["user"] == "Robin" and entry["count"] == 3
    assert listing[str(alice)]["user"] == "Alice" and listing[str(alice)]["count"] == 1
    created = datetime.fromisoformat(entry["timestamp"])
    assert created.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)


def test_no_token_ever_appears_in_a_response(client: TestClient, series_id: int) -> None:
    add_point(client, series_id, {"temp_C": 1})
    for path in ("/series", f"/series/{series_id}", "/point/1", "/points/count"):
        assert ROBIN_TOKEN not in client.get(path).text


def test_points_come_back_in_time_order_with_the_seed_shape(
    client: TestClient, series_id: int
) -> None:
    ids = [add_point(client, series_id, {"temp_C": v, "ok": True}) for v in (13, 13.5, 12.5)]

    points = client.get(f"/series/{series_id}").json()

    assert [p["id"] for p in points] == ids
    assert [p["fields"] for p in points] == [
        {"temp_C": 13, "ok": True},
        {"temp_C": 13.5, "ok": True},
        {"temp_C": 12.5, "ok": True},
    ]
    assert all(set(p) == {"id", "series_id", "timestamp", "fields"} for p in points)
    assert all(p["series_id"] == series_id for p in points)
    times = [datetime.fromisoformat(p["timestamp"]) for p in points]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    # microsecond precision, written out in full
    assert all(len(p["timestamp"]) == len("2026-11-24T02:12:38.123456+00:00") for p in points)


def test_integer_and_float_values_keep_their_type(client: TestClient, series_id: int) -> None:
    add_point(client, series_id, {"n": 13, "x": 13.0, "s": "on", "b": False})
    raw = client.get(f"/series/{series_id}").text
    assert '"n":13,' in raw and '"x":13.0' in raw and '"s":"on"' in raw and '"b":false' in raw


def test_empty_series_is_an_empty_list(client: TestClient, series_id: int) -> None:
    response = client.get(f"/series/{series_id}")
    assert response.status_code == 200 and response.json() == []


def test_from_and_to_bound_the_points(client: TestClient, series_id: int) -> None:
    add_point(client, series_id, {"v": 1})
    middle = client.get("/point/1").json()["timestamp"]
    add_point(client, series_id, {"v": 2})
    last = client.get("/point/2").json()["timestamp"]
    add_point(client, series_id, {"v": 3})

    def values(**params: str) -> list[object]:
        response = client.get(f"/series/{series_id}", params=params)
        assert response.status_code == 200, response.text
        return [p["fields"]["v"] for p in response.json()]

    assert values(**{"from": middle}) == [1, 2, 3]
    assert values(**{"from": last}) == [2, 3]
    assert values(to=last) == [1, 2]
    assert values(**{"from": last, "to": last}) == [2]
    assert values(**{"from": "2000-01-01", "to": "2000-01-02"}) == []
    naive = last.removesuffix("+00:00")  # no offset means UTC
    assert values(**{"from": naive}) == [2, 3]


def test_large_series_streams_every_point_in_order(
    client: TestClient, series_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny chunks so a few dozen points cross many chunk boundaries, including ties in time.
    monkeypatch.setattr("timeseries_api.storage.sqlite_reads.CHUNK_POINTS", 7)
    monkeypatch.setattr("timeseries_api.storage.postgres.CHUNK_POINTS", 7)
    total = 7 * 5 + 3
    ids = [add_point(client, series_id, {"i": i}) for i in range(total)]
    points = client.get(f"/series/{series_id}").json()
    assert [p["fields"]["i"] for p in points] == list(range(total))
    assert [p["id"] for p in points] == ids
    exactly_one_chunk = client.get(f"/series/{series_id}", params={"to": points[6]["timestamp"]})
    assert [p["id"] for p in exactly_one_chunk.json()] == ids[:7]


def test_get_point_and_its_404(client: TestClient, series_id: int) -> None:
    point_id = add_point(client, series_id, {"temp_C": 21.5})
    point = client.get(f"/point/{point_id}").json()
    assert point["id"] == point_id and point["series_id"] == series_id
    assert point["fields"] == {"temp_C": 21.5}
    missing = client.get("/point/999")
    assert missing.status_code == 404 and missing.json() == {"message": "point 999 does not exist"}


def test_points_count_is_a_bare_integer(client: TestClient, series_id: int) -> None:
    assert client.get("/points/count").text == "0"
    for _ in range(3):
        add_point(client, series_id, {"v": 1})
    assert client.get("/points/count").text == "3"


def test_delete_point_answers_204_and_the_point_is_gone(client: TestClient, series_id: int) -> None:
    keep = add_point(client, series_id, {"v": 1})
    gone = add_point(client, series_id, {"v": 2})
    response = client.request("DELETE", f"/point/{gone}", json={"token": ROBIN_TOKEN})
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"/point/{gone}").status_code == 404
    assert [p["id"] for p in client.get(f"/series/{series_id}").json()] == [keep]
    assert client.get("/series").json()[str(series_id)]["count"] == 1


def test_delete_series_removes_it_and_all_its_points(client: TestClient, series_id: int) -> None:
    point_ids = [add_point(client, series_id, {"v": i}) for i in range(5)]
    response = client.request(
        "DELETE", f"/series/{series_id}", headers={"Authorization": f"Bearer {ROBIN_TOKEN}"}
    )
    assert response.status_code == 204
    assert client.get(f"/series/{series_id}").status_code == 404
    assert client.get("/series").json() == {}
    assert all(client.get(f"/point/{p}").status_code == 404 for p in point_ids)
    assert client.get("/points/count").text == "0"


def test_ids_are_never_reused_after_a_delete(client: TestClient, series_id: int) -> None:
    first = add_point(client, series_id, {"v": 1})
    client.request("DELETE", f"/point/{first}", json={"token": ROBIN_TOKEN})
    assert add_point(client, series_id, {"v": 2}) == first + 1
    client.request("DELETE", f"/series/{series_id}", json={"token": ROBIN_TOKEN})
    again = client.put(
        "/series/new", json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"}
    ).json()
    assert again == series_id + 1


def test_post_is_accepted_wherever_put_creates(client: TestClient, series_id: int) -> None:
    response = client.post(
        "/point/new", json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": 1}}
    )
    assert response.status_code == 201 and response.json() == 1


def test_series_id_as_a_numeric_string_is_accepted(client: TestClient, series_id: int) -> None:
    response = client.put(
        "/point/new", json={"token": ROBIN_TOKEN, "series_id": str(series_id), "fields": {"v": 1}}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("path", ["/series", "/series/1", "/point/1", "/points/count"])
def test_every_get_answers_jsonp_with_a_callback(
    client: TestClient, series_id: int, path: str
) -> None:
    add_point(client, series_id, {"v": 1})
    plain = client.get(path)
    wrapped = client.get(path, params={"callback": "plot.draw"})
    assert wrapped.status_code == 200
    assert wrapped.headers["content-type"].startswith("application/javascript")
    assert wrapped.text == f"/**/plot.draw({plain.text});"


def test_a_callback_that_is_not_a_function_name_is_refused(client: TestClient) -> None:
    response = client.get("/series", params={"callback": "alert(1)//"})
    assert response.status_code == 400
    assert "callback" in response.json()["message"]


class TestAuthentication:
    def test_writes_without_a_token_get_401(self, client: TestClient, series_id: int) -> None:
        for method, path, body in [
            ("PUT", "/series/new", {"device_desc": "d", "device_id": "i"}),
            ("PUT", "/point/new", {"series_id": series_id, "fields": {"v": 1}}),
            ("DELETE", f"/series/{series_id}", None),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 401, (method, path)
            assert "token" in response.json()["message"]
            assert response.headers["www-authenticate"].startswith("Bearer")

    def test_an_unknown_token_gets_401(self, client: TestClient, series_id: int) -> None:
        response = client.put(
            "/point/new", json={"token": "nope", "series_id": series_id, "fields": {"v": 1}}
        )
        assert response.status_code == 401
        assert response.json() == {
            "message": "unknown token: check it against the server's users file"
        }

    def test_the_bearer_header_works_like_the_body_token(
        self, client: TestClient, series_id: int
    ) -> None:
        response = client.put(
            "/point/new",
            json={"series_id": series_id, "fields": {"v": 1}},
            headers={"Authorization": f"Bearer {ROBIN_TOKEN}"},
        )
        assert response.status_code == 201

    def test_reads_need_no_token(self, client: TestClient, series_id: int) -> None:
        add_point(client, series_id, {"v": 1})
        for path in ("/series", f"/series/{series_id}", "/point/1", "/points/count"):
            assert client.get(path).status_code == 200

    def test_another_users_series_is_forbidden(self, client: TestClient, series_id: int) -> None:
        point_id = add_point(client, series_id, {"v": 1})
        write = client.put(
            "/point/new", json={"token": ALICE_TOKEN, "series_id": series_id, "fields": {"v": 2}}
        )
        delete_point = client.request("DELETE", f"/point/{point_id}", json={"token": ALICE_TOKEN})
        delete_series = client.request(
            "DELETE", f"/series/{series_id}", json={"token": ALICE_TOKEN}
        )
        assert [write.status_code, delete_point.status_code, delete_series.status_code] == [403] * 3
        assert "another user" in write.json()["message"]
        # nothing changed
        assert [p["id"] for p in client.get(f"/series/{series_id}").json()] == [point_id]

    def test_writing_to_a_missing_series_is_404(self, client: TestClient) -> None:
        response = client.put(
            "/point/new", json={"token": ROBIN_TOKEN, "series_id": 42, "fields": {"v": 1}}
        )
        assert response.status_code == 404
        assert response.json() == {"message": "series 42 does not exist"}
