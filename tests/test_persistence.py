"""Data survives a restart and a crash: a 201 means the point is committed."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from .conftest import ROBIN_TOKEN, Server, start_server


def test_points_survive_a_restart(server: Server) -> None:
    series_id = httpx.put(
        server.url + "/series/new",
        json={"token": ROBIN_TOKEN, "desc": "Tokyo", "device_desc": "d", "device_id": "i"},
    ).json()
    for value in (13, 13.5, 12.5):
        httpx.put(
            server.url + "/point/new",
            json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"temp_C": value}},
        )
    before = httpx.get(f"{server.url}/series/{series_id}").text
    listing = httpx.get(server.url + "/series").json()

    server.restart()

    assert httpx.get(f"{server.url}/series/{series_id}").text == before
    assert httpx.get(server.url + "/series").json() == listing


def test_every_acknowledged_point_survives_sigkill(server: Server, database_url: str) -> None:
    series_id = httpx.put(
        server.url + "/series/new",
        json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
    ).json()

    def writer(n: int) -> list[tuple[int, int]]:
        acknowledged = []
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for i in range(40):
                value = n * 1000 + i
                response = http.put(
                    "/point/new",
                    json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": value}},
                )
                if response.status_code == 201:
                    acknowledged.append((response.json(), value))
        return acknowledged

    with ThreadPoolExecutor(8) as pool:
        acknowledged = [pair for result in pool.map(writer, range(8)) for pair in result]
    server.stop(kill=True)  # SIGKILL: no shutdown hook runs
    server.restart()

    stored = {
        p["id"]: p["fields"]["v"] for p in httpx.get(f"{server.url}/series/{series_id}").json()
    }
    assert stored == dict(acknowledged)
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_worker_processes_share_one_database(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    running = start_server(tmp_path, database_url, users_path, "--workers", "2", env=None)
    try:
        series_id = httpx.put(
            running.url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()

        def write(i: int) -> int:
            response = httpx.put(
                running.url + "/point/new",
                json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": i}},
            )
            assert response.status_code == 201
            point_id: int = response.json()
            return point_id

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(write, range(200)))
        assert len(set(ids)) == 200
        assert httpx.get(f"{running.url}/points/count").json() == 200
    finally:
        running.stop()
