"""Device keys: shown once, listed without the secret, revoked at once, and a write key can add
points to its one series and do nothing else."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from timeseries_api.cli import main

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, start_server

ROBIN = {"Authorization": f"Bearer {ROBIN_TOKEN}"}


def new_series(client: Any, token: str = ROBIN_TOKEN) -> int:
    response = client.put(
        "/series/new", json={"token": token, "device_desc": "ESP32", "device_id": "balcony"}
    )
    assert response.status_code == 201, response.text
    series_id: int = response.json()
    return series_id


def new_key(client: Any, series_id: int, kind: str = "write", label: str = "") -> dict[str, Any]:
    response = client.post(
        f"/series/{series_id}/keys", headers=ROBIN, json={"kind": kind, "label": label}
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


def points(client: Any, series_id: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.get(f"/series/{series_id}").json()
    return result


def write(client: Any, series_id: int, token: str, fields: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.put(
        "/point/new", json={"token": token, "series_id": series_id, "fields": fields}
    )
    return response


# -- lifecycle -------------------------------------------------------------------------------------


def test_a_key_is_shown_once_listed_without_its_secret_and_revoked(
    client: TestClient, series_id: int
) -> None:
    created = new_key(client, series_id, label="balcony ESP32")
    assert created["kind"] == "write" and created["label"] == "balcony ESP32"
    assert created["series_id"] == series_id and len(created["key"]) > 40

    listing = client.get(f"/series/{series_id}/keys", headers=ROBIN)
    assert listing.status_code == 200
    assert listing.json() == [{k: v for k, v in created.items() if k != "key"}]
    assert created["key"] not in listing.text

    assert write(client, series_id, created["key"], {"temp_C": 21.5}).status_code == 201
    revoked = client.delete(f"/series/{series_id}/keys/{created['id']}", headers=ROBIN)
    assert revoked.status_code == 204
    refused = write(client, series_id, created["key"], {"temp_C": 22.0})
    assert refused.status_code == 401
    assert client.get(f"/series/{series_id}/keys", headers=ROBIN).json() == []
    assert [p["fields"] for p in points(client, series_id)] == [{"temp_C": 21.5}]


def test_revoking_with_the_id_in_the_body(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)
    response = client.request(
        "DELETE", f"/series/{series_id}/keys", json={"token": ROBIN_TOKEN, "id": key["id"]}
    )
    assert response.status_code == 204
    assert write(client, series_id, key["key"], {"v": 1}).status_code == 401


def test_each_key_is_different_and_only_its_digest_is_stored(
    client: TestClient, series_id: int, database_url: str
) -> None:
    keys = {new_key(client, series_id)["key"] for _ in range(3)}
    assert len(keys) == 3
    database = Path(database_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert not any(key.encode() in stored for key in keys)


def test_deleting_a_series_deletes_its_keys(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)
    assert client.request("DELETE", f"/series/{series_id}", headers=ROBIN).status_code == 204
    assert write(client, series_id, key["key"], {"v": 1}).status_code == 401


def test_revocation_holds_at_once_in_another_server_process(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    first = start_server(tmp_path, database_url, users_path, env=None)
    second = start_server(tmp_path, database_url, users_path, env=None)
    try:
        with httpx.Client(base_url=first.url) as a, httpx.Client(base_url=second.url) as b:
            series_id = new_series(a)
            key = new_key(a, series_id)
            assert write(b, series_id, key["key"], {"v": 1}).status_code == 201
            revoked = a.delete(f"/series/{series_id}/keys/{key['id']}", headers=ROBIN)
            assert revoked.status_code == 204
            assert write(b, series_id, key["key"], {"v": 2}).status_code == 401
    finally:
        first.stop()
        second.stop()


# -- where a write key writes ----------------------------------------------------------------------


def test_a_write_key_writes_through_every_way_a_token_is_accepted(
    client: TestClient, series_id: int
) -> None:
    key = new_key(client, series_id)["key"]
    assert write(client, series_id, key, {"via": "body"}).status_code == 201
    bearer = client.post(
        "/point/new",
        headers={"Authorization": f"Bearer {key}"},
        json={"series_id": series_id, "points": [{"fields": {"via": "bearer"}}]},
    )
    assert bearer.status_code == 201, bearer.text
    v1 = client.post(f"/write?db=home&u=esp&p={key}", content=f"m,series_id={series_id} via=1i")
    assert v1.status_code == 204, v1.text
    v2 = client.post(
        "/api/v2/write?org=home&bucket=esp",
        headers={"Authorization": f"Token {key}"},
        content=f"m,series_id={series_id} via=2i",
    )
    assert v2.status_code == 204, v2.text
    stored = [p["fields"]["via"] for p in points(client, series_id)]
    assert stored == ["body", "bearer", 1, 2]
    assert client.get("/series").json()[str(series_id)]["user"] == "Robin"


# -- refusals --------------------------------------------------------------------------------------


@pytest.fixture
def write_key(client: TestClient, series_id: int) -> str:
    key: str = new_key(client, series_id)["key"]
    return key


def test_a_write_key_cannot_write_to_another_series(
    client: TestClient, series_id: int, write_key: str
) -> None:
    other = new_series(client)
    response = write(client, other, write_key, {"v": 1})
    assert response.status_code == 403
    assert response.json()["message"] == (
        f"this write key can only add points to series {series_id}, not to series {other}"
    )
    batch = client.put(
        "/point/new",
        json=[
            {"token": write_key, "series_id": series_id, "fields": {"v": 1}},
            {"token": write_key, "series_id": other, "fields": {"v": 2}},
        ],
    )
    assert batch.status_code == 403
    assert points(client, series_id) == [] and points(client, other) == []


def test_a_write_key_cannot_write_line_protocol_elsewhere(
    client: TestClient, series_id: int, write_key: str
) -> None:
    named = client.post(
        "/api/v2/write?org=home&bucket=esp",
        headers={"Authorization": f"Token {write_key}"},
        content="weather,room=attic temp_C=21.5",
    )
    assert named.status_code == 403
    assert named.json()["code"] == "forbidden"
    assert f"tag its lines with series_id={series_id}" in named.json()["message"]
    v1 = client.post(
        f"/write?db=home&p={write_key}",
        content=f"m,series_id={series_id} v=1i\nm,series_id={series_id + 1} v=2i",
    )
    assert v1.status_code == 403 and "error" in v1.json()
    assert len(client.get("/series").json()) == 1 and points(client, series_id) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/series/new", {"device_desc": "d", "device_id": "i"}),
        ("DELETE", "/series/{sid}", None),
        ("DELETE", "/point/{pid}", None),
        ("POST", "/series/{sid}/keys", {"kind": "write"}),
        ("GET", "/series/{sid}/keys", None),
        ("DELETE", "/series/{sid}/keys/1", None),
        ("PUT", "/series/{sid}/thingspeak-fields", {"fields": {"field1": "temp_C"}}),
    ],
)
def test_a_write_key_can_do_nothing_but_add_points(
    client: TestClient,
    series_id: int,
    write_key: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    point_id = write(client, series_id, ROBIN_TOKEN, {"v": 1}).json()
    url = path.format(sid=series_id, pid=point_id)
    headers = {"Authorization": f"Bearer {write_key}"}
    response = client.request(method, url, headers=headers, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["message"].startswith(f"this is a write key of series {series_id}")
    assert len(points(client, series_id)) == 1
    assert len(client.get(f"/series/{series_id}/keys", headers=ROBIN).json()) == 1


def test_a_read_key_cannot_write(client: TestClient, series_id: int) -> None:
    read_key = new_key(client, series_id, kind="read")
    assert read_key["kind"] == "read"
    response = write(client, series_id, read_key["key"], {"v": 1})
    assert response.status_code == 403
    assert (
        response.json()["message"] == f"this is a read key of series {series_id}: it cannot write"
    )


def test_only_the_owner_manages_keys(client: TestClient, series_id: int) -> None:
    alice = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    key = new_key(client, series_id)
    for method, path in [
        ("POST", f"/series/{series_id}/keys"),
        ("GET", f"/series/{series_id}/keys"),
        ("DELETE", f"/series/{series_id}/keys/{key['id']}"),
    ]:
        assert client.request(method, path, headers=alice).status_code == 403
        assert client.request(method, path).status_code == 401
        unknown = {"Authorization": "Bearer not-a-token"}
        assert client.request(method, path, headers=unknown).status_code == 401
    assert write(client, series_id, key["key"], {"v": 1}).status_code == 201


def test_keys_of_missing_series_and_keys_bad_requests(client: TestClient, series_id: int) -> None:
    assert client.post("/series/99/keys", headers=ROBIN).status_code == 404
    assert client.get("/series/99/keys", headers=ROBIN).status_code == 404
    assert client.delete(f"/series/{series_id}/keys/99", headers=ROBIN).status_code == 404
    bad_kind = client.post(f"/series/{series_id}/keys", headers=ROBIN, json={"kind": "admin"})
    assert bad_kind.status_code == 400
    assert bad_kind.json() == {"message": "kind must be 'write' or 'read', not 'admin'"}
    no_id = client.request("DELETE", f"/series/{series_id}/keys", headers=ROBIN, json={})
    assert no_id.status_code == 400


def test_a_key_of_another_series_cannot_be_revoked_through_this_one(client: TestClient) -> None:
    first, second = new_series(client), new_series(client)
    key = new_key(client, first)
    assert client.delete(f"/series/{second}/keys/{key['id']}", headers=ROBIN).status_code == 404
    assert write(client, first, key["key"], {"v": 1}).status_code == 201


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_keys(
    client: TestClient, series_id: int, database_url: str
) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main, ["keys", "create", str(series_id), "--label", "attic", "--database", database_url]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert write(client, series_id, key, {"v": 1}).status_code == 201

    listed = runner.invoke(main, ["keys", "list", str(series_id), "--database", database_url])
    assert listed.exit_code == 0
    (line,) = listed.stdout.splitlines()
    key_id, kind, _created, label = line.split("\t")
    assert (kind, label) == ("write", "attic") and key not in listed.stdout

    revoked = runner.invoke(
        main, ["keys", "revoke", str(series_id), key_id, "--database", database_url]
    )
    assert revoked.exit_code == 0, revoked.output
    assert write(client, series_id, key, {"v": 2}).status_code == 401

    read = runner.invoke(
        main, ["keys", "create", str(series_id), "--read", "--database", database_url]
    )
    assert read.exit_code == 0
    assert client.get(f"/series/{series_id}/keys", headers=ROBIN).json()[0]["kind"] == "read"

    missing = runner.invoke(main, ["keys", "list", "99", "--database", database_url])
    assert missing.exit_code != 0 and "series 99 does not exist" in missing.output
