"""latest, fields, count; editing a series; private reads; the OpenAPI description and docs."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.config import Settings

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, start_server
from .reads import HOUR_US, T0_US, get_json, iso, write

ROBIN = {"Authorization": f"Bearer {ROBIN_TOKEN}"}


def test_latest_is_the_point_with_the_latest_time(client: TestClient, series_id: int) -> None:
    assert client.get(f"/series/{series_id}/latest").json() is None
    ids = write(client, series_id, [(T0_US + 5, {"v": 1}), (T0_US + 9, {"v": 2}),
                                    (T0_US + 7, {"v": 3})])  # fmt: skip
    assert get_json(client, f"/series/{series_id}/latest") == client.get(f"/point/{ids[1]}").json()
    ties = write(client, series_id, [(T0_US + 9, {"v": 4})])  # same time, written later
    assert get_json(client, f"/series/{series_id}/latest")["id"] == ties[0]
    client.delete(f"/point/{ties[0]}", headers=ROBIN)
    assert get_json(client, f"/series/{series_id}/latest")["id"] == ids[1]


def test_fields_lists_each_field_with_type_count_and_times(
    client: TestClient, series_id: int
) -> None:
    write(client, series_id, [
        (T0_US, {"temp_C": 21, "ok": True}),
        (T0_US + 3 * HOUR_US, {"temp_C": 21.5, "note": "hi"}),
        (T0_US + 1, {"batt_V": 3.9}),
    ])  # fmt: skip
    assert get_json(client, f"/series/{series_id}/fields") == [
        {"name": "batt_V", "type": "float", "count": 1, "first": iso(T0_US + 1),
         "last": iso(T0_US + 1)},
        {"name": "note", "type": "string", "count": 1, "first": iso(T0_US + 3 * HOUR_US),
         "last": iso(T0_US + 3 * HOUR_US)},
        {"name": "ok", "type": "boolean", "count": 1, "first": iso(T0_US), "last": iso(T0_US)},
        {"name": "temp_C", "type": "float", "count": 2, "first": iso(T0_US),
         "last": iso(T0_US + 3 * HOUR_US)},
    ]  # fmt: skip
    other = client.put("/series/new", json={"token": ROBIN_TOKEN, "device_desc": "d",
                                            "device_id": "i"}).json()  # fmt: skip
    assert get_json(client, f"/series/{other}/fields") == []


def test_count_with_and_without_a_range(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US + i * HOUR_US, {"v": i}) for i in range(10)])
    path = f"/series/{series_id}/count"
    assert get_json(client, path) == 10
    assert get_json(client, path, **{"from": iso(T0_US + 2 * HOUR_US)}) == 8
    assert get_json(client, path, to=iso(T0_US + 2 * HOUR_US)) == 3
    assert get_json(client, path, **{"from": iso(T0_US + 1), "to": iso(T0_US + HOUR_US)}) == 1
    assert get_json(client, path, **{"from": "-1h"}) == 0
    assert client.get(path, params={"from": "soon"}).status_code == 400


def test_the_owner_edits_a_series(client: TestClient, series_id: int) -> None:
    response = client.patch(f"/series/{series_id}", json={"desc": "Attic", "device_id": "ff:01"},
                            headers=ROBIN)  # fmt: skip
    assert response.status_code == 200
    entry = response.json()
    assert entry["desc"] == "Attic" and entry["device_id"] == "ff:01"
    assert entry["device_desc"] == "ESP32"  # unchanged
    assert client.get("/series").json()[str(series_id)] == entry
    body = {"token": ROBIN_TOKEN, "device_desc": "ESP32-C3"}
    assert client.patch(f"/series/{series_id}", json=body).json()["device_desc"] == "ESP32-C3"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"desc": "x"}, {}, 401),
        ({"desc": "x", "token": "nope"}, {}, 401),
        ({"desc": "x", "token": ALICE_TOKEN}, {}, 403),
        ({"token": ROBIN_TOKEN}, {}, 400),
        ({"desc": "x" * 1001}, ROBIN, 400),
        ({"device_id": "x" * 201}, ROBIN, 400),
        ({"desc": ["a"]}, ROBIN, 400),
    ],
)
def test_edits_that_are_refused_change_nothing(
    client: TestClient, series_id: int, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    before = client.get("/series").json()
    response = client.patch(f"/series/{series_id}", json=body, headers=headers)
    assert response.status_code == status
    assert "message" in response.json()
    assert client.get("/series").json() == before


def test_editing_a_missing_series_is_404(client: TestClient) -> None:
    assert client.patch("/series/42", json={"desc": "x"}, headers=ROBIN).status_code == 404
    assert client.patch("/series/x", json={"desc": "x"}, headers=ROBIN).status_code == 400


def _get_paths(app_routes: list[Any]) -> list[str]:
    return [r.path for r in app_routes if isinstance(r, APIRoute) and "GET" in r.methods]


def test_private_reads_need_a_token_on_every_get(tmp_path: Path, users_path: Path) -> None:
    settings = Settings(
        database=f"sqlite:///{tmp_path}/p.sqlite", users=users_path, private_reads=True
    )
    app = create_app(settings)
    with TestClient(app) as client:
        sid = client.put("/series/new", json={"token": ROBIN_TOKEN, "device_desc": "d",
                                              "device_id": "i"}).json()  # fmt: skip
        pid = write(client, sid, [(T0_US, {"v": 1})])[0]
        open_paths = {"/ping", "/health"}  # probes of InfluxDB clients, no data
        # Not reads: the owner's key list, and ThingSpeak's writes by GET (/update); ThingSpeak's
        # reads answer in its own shapes (tests/test_thingspeak_feeds.py covers them).
        not_reads = ("/keys", "/update", "/channels/")
        paths = [p.replace("{series_id}", str(sid)).replace("{point_id}", str(pid))
                 for p in _get_paths(app.routes) if not any(n in p for n in not_reads)]  # fmt: skip
        assert f"/series/{sid}/latest" in paths and "/series" in paths
        for path in paths:
            if path in open_paths:
                assert client.get(path).status_code in (200, 204)
                continue
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert "token" in refused.json()["message"]
            assert client.get(path, params={"token": "wrong"}).status_code == 401, path
            assert client.get(path, headers=ROBIN).status_code == 200, path
            assert client.get(path, params={"token": ALICE_TOKEN}).status_code == 200, path
        page = client.get(f"/series/{sid}", params={"limit": 1, "token": ROBIN_TOKEN})
        assert "token" not in page.headers["link"]  # never a token in a response


def test_reads_are_open_by_default(client: TestClient, series_id: int) -> None:
    assert client.get(f"/series/{series_id}").status_code == 200
    assert client.get(f"/series/{series_id}", params={"token": "anything"}).status_code == 200


def test_private_reads_from_the_environment(tmp_path: Path, users_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/e.sqlite"
    server = start_server(tmp_path, database, users_path,
                          env={"TIMESERIES_PRIVATE_READS": "true"})  # fmt: skip
    try:
        assert httpx.get(server.url + "/series").status_code == 401
        assert httpx.get(server.url + "/series", headers=ROBIN).status_code == 200
    finally:
        server.stop()


def test_openapi_documents_every_read_parameter(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    read = spec["paths"]["/series/{series_id}"]["get"]
    names = {p["name"] for p in read["parameters"] if p["in"] == "query"}
    assert names >= {"from", "to", "limit", "after", "order", "fields", "every", "agg", "tz",
                     "fill", "format", "token", "callback"}  # fmt: skip
    assert all(p.get("description") for p in read["parameters"] if p["in"] == "query")
    for path in ("/series/{series_id}/latest", "/series/{series_id}/fields",
                 "/series/{series_id}/count"):  # fmt: skip
        assert spec["paths"][path]["get"]["summary"]
    patch = spec["paths"]["/series/{series_id}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) >= {"desc", "device_desc", "device_id", "token"}


def test_interactive_docs_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "'/openapi.json'" in page.text
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 500, source
    assert client.get("/redoc").status_code == 404
