"""``timeseries-api migrate``: SQLite -> PostgreSQL -> SQLite, every value compared over HTTP."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.cli import main
from timeseries_api.config import Settings

from .conftest import ALICE_TOKEN, ROBIN_TOKEN

pytestmark = pytest.mark.postgres


@contextmanager
def serving(database_url: str, users_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database=database_url, users=users_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def new_series(client: TestClient, token: str, **meta: str) -> int:
    body = {"token": token, "device_desc": "d", "device_id": "i", **meta}
    response = client.put("/series/new", json=body)
    assert response.status_code == 201
    series_id: int = response.json()
    return series_id


def fill(client: TestClient) -> str:
    """A few thousand points in seed and line protocol series, with gaps left by deletes."""
    robin = new_series(client, ROBIN_TOKEN, desc="Tokyo", device_desc="ESP32", device_id="12:AB")
    gone = new_series(client, ROBIN_TOKEN)
    alice = new_series(client, ALICE_TOKEN, device_desc="ESP8266")
    start = 1_763_971_200
    for batch in range(3):
        points = [
            {"fields": {"temp_C": 20 + i / 7, "n": i, "ok": i % 2 == 0, "s": f"v{i}"},
             "timestamp": start + batch * 1000 + i}
            for i in range(1000)
        ]  # fmt: skip
        body = {"token": ROBIN_TOKEN, "series_id": robin, "points": points}
        assert client.post("/point/new", json=body).status_code == 201
    for value in (1, 2, 3):
        body = {"token": ALICE_TOKEN, "series_id": alice, "fields": {"hum": value}}
        assert client.put("/point/new", json=body).status_code == 201
    lines = "\n".join(f"room,sensor=a temp={i}.5 {start + i}" for i in range(500))
    response = client.post("/api/v2/write?bucket=home&precision=s", content=lines,
                           headers={"Authorization": f"Token {ROBIN_TOKEN}"})  # fmt: skip
    assert response.status_code == 204
    auth = {"Authorization": f"Bearer {ROBIN_TOKEN}"}
    names = {"fields": {"field1": "temp_C"}}
    assert client.put(f"/series/{robin}/thingspeak-fields", json=names, headers=auth).is_success
    key = client.post(f"/series/{robin}/keys", json={"kind": "write"}, headers=auth).json()["key"]
    first_point = client.get(f"/series/{robin}").json()[0]["id"]
    assert client.request("DELETE", f"/point/{first_point}", json={"token": ROBIN_TOKEN}).is_success
    assert client.request("DELETE", f"/series/{gone}", json={"token": ROBIN_TOKEN}).is_success
    # The newest series and point are deleted too: their ids must never come back.
    newest = new_series(client, ROBIN_TOKEN)
    body = {"token": ROBIN_TOKEN, "series_id": newest, "fields": {"v": 0}}
    assert client.put("/point/new", json=body).status_code == 201
    assert client.request("DELETE", f"/series/{newest}", json={"token": ROBIN_TOKEN}).is_success
    return key


def everything(client: TestClient) -> tuple[dict[str, object], dict[str, str], int]:
    listing = client.get("/series").json()
    return (
        listing,
        {sid: client.get(f"/series/{sid}").text for sid in listing},
        (client.get("/points/count").json()),
    )


def migrate(source: str, target: str) -> str:
    result = CliRunner().invoke(main, ["migrate", "--from", source, "--to", target])
    assert result.exit_code == 0, result.output
    return result.output


def test_migrate_copies_everything_both_ways_and_new_ids_never_collide(
    tmp_path: Path, users_path: Path, postgres_schema: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with serving(sqlite_url, users_path) as client:
        key = fill(client)
        original = everything(client)
    assert original[2] == 3000 - 1 + 3 + 500

    output = migrate(sqlite_url, postgres_schema)
    assert "Copied 3 series and 3502 points" in output
    with serving(postgres_schema, users_path) as client:
        assert everything(client) == original  # every byte of every point
        assert client.get("/series/1/thingspeak-fields").json() == {"field1": "temp_C"}
        # The device's key was copied as its digest: it still writes to its series.
        body = {"token": key, "series_id": 1, "fields": {"temp_C": 9.5}}
        assert client.put("/point/new", json=body).status_code == 201
        # Ids handed out after the copy are new: nothing of the old database is overwritten.
        added = new_series(client, ROBIN_TOKEN)
        assert added > 4  # the deleted newest series was 4
        body = {"token": ROBIN_TOKEN, "series_id": added, "fields": {"v": 1}}
        point = client.put("/point/new", json=body).json()
        largest = max(p["id"] for sid in original[1] for p in json.loads(original[1][sid]))
        assert point > largest + 1  # nor the deleted newest point
        after_writes = everything(client)

    back = f"sqlite:///{tmp_path / 'back.sqlite'}"
    migrate(postgres_schema, back)
    migrate(postgres_schema, back)  # running it again changes nothing
    with serving(back, users_path) as client:
        assert everything(client) == after_writes


def test_migrate_refuses_a_target_holding_other_data(
    tmp_path: Path, users_path: Path, postgres_schema: str
) -> None:
    source = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with serving(source, users_path) as client:
        fill(client)
    with serving(postgres_schema, users_path) as client:
        new_series(client, ALICE_TOKEN)
    result = CliRunner().invoke(main, ["migrate", "--from", source, "--to", postgres_schema])
    assert result.exit_code == 1
    assert "already holds series 1" in result.output
    missing = CliRunner().invoke(
        main, ["migrate", "--from", f"sqlite:///{tmp_path}/nope.sqlite", "--to", postgres_schema]
    )
    assert missing.exit_code == 1 and "no SQLite database" in missing.output
