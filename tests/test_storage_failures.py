"""A full disk and a read-only database: writes answer a clear 503, reads keep working, nothing
acknowledged is lost and nothing is corrupted.

Both need a filesystem of their own (a size-limited tmpfs, a read-only bind mount), so they need
the right to mount: they are skipped without it, except in CI (CI=true), where that is a failure.
They are SQLite-only: a PostgreSQL server's disk is not the application's to fill.
"""

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from .conftest import ROBIN_TOKEN, start_server

AUTH = {"Authorization": f"Bearer {ROBIN_TOKEN}"}


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        reason = f"cannot mount ({result.stderr.strip() or result.returncode})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    """``mount *args target`` for the duration of the block."""
    target.mkdir(parents=True, exist_ok=True)
    _mount(*args, str(target))
    try:
        yield target
    finally:
        subprocess.run(["umount", "--lazy", str(target)], check=True)


@pytest.fixture
def sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite:"):
        pytest.skip("SQLite-only: the database file lives on the test's own filesystem")


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        result: str = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return result


def _stored(url: str, series_id: int) -> dict[int, int]:
    response = httpx.get(f"{url}/series/{series_id}", timeout=30)
    assert response.status_code == 200, response.text
    return {p["id"]: p["fields"]["i"] for p in response.json()}


@pytest.mark.usefixtures("sqlite_only")
def test_sqlite_disk_full_refuses_writes_keeps_reads_and_recovers(
    tmp_path: Path, users_path: Path
) -> None:
    with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as small:
        database = small / "timeseries.sqlite"
        server = start_server(tmp_path, f"sqlite:///{database}", users_path, env=None)
        try:
            series_id = httpx.put(
                server.url + "/series/new",
                headers=AUTH,
                json={"device_desc": "d", "device_id": "i"},
            ).json()
            padding = "x" * 250  # ~25 KB of JSON per point: the disk fills in a few dozen batches
            acknowledged: dict[int, int] = {}
            refused = None
            for batch in range(200):
                values = range(batch * 10, batch * 10 + 10)
                points = [{"fields": {"i": i, **{f"p{k}": padding for k in range(99)}}}
                          for i in values]  # fmt: skip
                response = httpx.post(
                    server.url + "/point/new",
                    headers=AUTH,
                    json={"series_id": series_id, "points": points},
                    timeout=30,
                )
                if response.status_code == 503:
                    refused = response
                    break
                assert response.status_code == 201, response.text
                acknowledged.update(zip(response.json(), values, strict=True))
            assert refused is not None, "the disk never filled"
            assert "disk is full" in refused.json()["message"]
            assert refused.headers["retry-after"]
            assert acknowledged

            # Reads keep working, and the refused batch left nothing half-written.
            assert _stored(server.url, series_id) == acknowledged
            assert httpx.get(server.url + "/points/count").json() == len(acknowledged)
            assert httpx.get(server.url + "/series").status_code == 200

            # Space is freed (the filesystem grows): writes work again, without a restart.
            subprocess.run(["mount", "-o", "remount,size=16m", str(small)], check=True)
            again = httpx.put(
                server.url + "/point/new", headers=AUTH,
                json={"series_id": series_id, "fields": {"i": -1}},
            )  # fmt: skip
            assert again.status_code == 201, again.text
            acknowledged[again.json()] = -1
            assert _stored(server.url, series_id) == acknowledged
        finally:
            server.stop()
        assert _integrity(database) == "ok"


@pytest.mark.usefixtures("sqlite_only")
def test_sqlite_read_only_database_serves_reads_and_refuses_writes(
    tmp_path: Path, users_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database_url = f"sqlite:///{data / 'timeseries.sqlite'}"
    server = start_server(tmp_path, database_url, users_path, env=None)
    series_id = httpx.put(
        server.url + "/series/new", headers=AUTH, json={"device_desc": "d", "device_id": "i"}
    ).json()
    ids = httpx.post(
        server.url + "/point/new",
        headers=AUTH,
        json={"series_id": series_id, "points": [{"fields": {"i": i}} for i in range(50)]},
    ).json()
    before = httpx.get(f"{server.url}/series/{series_id}").json()
    server.stop()

    # The same directory, mounted read-only: as after the kernel remounts a failing disk.
    with mounted(tmp_path / "readonly", "--bind", "-o", "ro", str(data)) as readonly:
        assert not os.access(readonly, os.W_OK)
        database = readonly / "timeseries.sqlite"
        server = start_server(tmp_path, f"sqlite:///{database}", users_path, env=None)
        try:
            assert httpx.get(f"{server.url}/series/{series_id}").json() == before
            assert httpx.get(f"{server.url}/point/{ids[0]}").status_code == 200
            assert httpx.get(server.url + "/points/count").json() == 50
            writes = [
                httpx.put(server.url + "/point/new", headers=AUTH,
                          json={"series_id": series_id, "fields": {"i": 1}}),
                httpx.put(server.url + "/series/new", headers=AUTH,
                          json={"device_desc": "d", "device_id": "i"}),
                httpx.delete(f"{server.url}/point/{ids[0]}", headers=AUTH),
            ]  # fmt: skip
            for response in writes:
                assert response.status_code == 503, response.text
                assert "read-only" in response.json()["message"]
                assert response.headers["retry-after"]
            line = httpx.post(
                server.url + "/api/v2/write?bucket=b",
                headers={"Authorization": f"Token {ROBIN_TOKEN}"},
                content=b"m v=1",
            )
            assert line.status_code == 503 and "read-only" in line.json()["message"]
            assert httpx.get(server.url + "/points/count").json() == 50
        finally:
            server.stop()
    assert _integrity(data / "timeseries.sqlite") == "ok"
