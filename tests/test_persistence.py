"""Data survives a restart and a crash: a 201 means the point is committed."""

import itertools
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import pytest

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


KILL_ROUNDS = 4
WRITERS = 8


class CrashWriter(threading.Thread):
    """A device that writes unique values until the server goes away, remembering what was
    acknowledged: single points, batches of three and line protocol, in turn."""

    def __init__(self, url: str, series_id: int, values: "itertools.count[int]") -> None:
        super().__init__(daemon=True)
        self.url, self.series_id, self.values = url, series_id, values
        self.acknowledged: dict[int, int | None] = {}  # value -> point id (None: line protocol)
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            for shape in itertools.cycle(("single", "batch", "line")):
                batch = [next(self.values) for _ in range(3 if shape == "batch" else 1)]
                self.sent += len(batch)
                try:
                    response = self._send(http, shape, batch)
                except httpx.TransportError:
                    return  # killed mid-request: these values may or may not be stored
                if shape == "single" and response.status_code == 201:
                    self.acknowledged[batch[0]] = response.json()
                elif shape == "batch" and response.status_code == 201:
                    self.acknowledged.update(zip(batch, response.json(), strict=True))
                elif shape == "line" and response.status_code == 204:
                    self.acknowledged[batch[0]] = None

    def _send(self, http: httpx.Client, shape: str, batch: list[int]) -> httpx.Response:
        token = {"Authorization": f"Bearer {ROBIN_TOKEN}"}
        if shape == "line":
            body = f"crash,series_id={self.series_id} v={batch[0]}i".encode()
            return http.post("/write?db=crash", content=body, headers=token)
        if shape == "single":
            return http.put(
                "/point/new", json={"series_id": self.series_id, "fields": {"v": batch[0]}},
                headers=token,
            )  # fmt: skip
        points = [{"fields": {"v": value}} for value in batch]
        return http.post(
            "/point/new", json={"series_id": self.series_id, "points": points}, headers=token
        )


def test_every_acknowledged_point_survives_repeated_sigkills(
    server: Server, database_url: str
) -> None:
    kill_repeatedly(server, database_url, KILL_ROUNDS)


@pytest.mark.slow
def test_every_acknowledged_point_survives_many_sigkills(server: Server, database_url: str) -> None:
    kill_repeatedly(server, database_url, KILL_ROUNDS * 10)


def kill_repeatedly(server: Server, database_url: str, rounds: int) -> None:
    """Kill the server ``rounds`` times under writers; check what was acknowledged."""
    series_id = httpx.put(
        server.url + "/series/new",
        json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
    ).json()
    values = itertools.count(1)
    acknowledged: dict[int, int | None] = {}
    cut = 0  # values whose request the kill interrupted
    for _ in range(rounds):
        writers = [CrashWriter(server.url, series_id, values) for _ in range(WRITERS)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 10
        while sum(len(w.acknowledged) for w in writers) < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.stop(kill=True)  # SIGKILL while every writer has requests in flight
        for writer in writers:
            writer.join(timeout=30)
            assert not writer.is_alive()
            acknowledged.update(writer.acknowledged)
            cut += writer.sent - len(writer.acknowledged)
        server.restart()

    stored = Counter()
    ids = {}
    for point in httpx.get(f"{server.url}/series/{series_id}", timeout=30).json():
        stored[point["fields"]["v"]] += 1
        ids[point["fields"]["v"]] = point["id"]
    assert len(acknowledged) >= rounds * 200
    assert cut > 0, "the kills never interrupted a request"
    assert max(stored.values()) == 1, "a value was stored twice"
    missing = [value for value in acknowledged if stored[value] != 1]
    assert not missing, f"{len(missing)} acknowledged points lost, e.g. {missing[:5]}"
    assert all(ids[v] == point_id for v, point_id in acknowledged.items() if point_id), "ids moved"
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


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
