"""Several server processes on one database, as behind a load balancer: no write lost or doubled."""

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from .conftest import ROBIN_TOKEN, start_server
from .reads import HOUR_US, T0_US, iso

WRITERS_PER_SERVER = 6
REQUESTS_PER_WRITER = 40


def test_two_servers_on_one_database_store_every_acknowledged_point_once(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    servers = [start_server(tmp_path, database_url, users_path, env=None) for _ in range(2)]
    try:
        series_id = httpx.put(
            servers[0].url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()

        def writer(n: int) -> list[tuple[int, float]]:
            """Single points and small batches to the seed series, line protocol to keyed ones."""
            url = servers[n % 2].url
            acknowledged: list[tuple[int, float]] = []
            with httpx.Client(base_url=url, timeout=30) as http:
                for i in range(REQUESTS_PER_WRITER):
                    value = n * 1000 + i
                    if i % 3 == 0:
                        points = [{"fields": {"v": value}}, {"fields": {"v": -value}}]
                        body = {"token": ROBIN_TOKEN, "series_id": series_id, "points": points}
                        response = http.post("/point/new", json=body)
                        assert response.status_code == 201, response.text
                        acknowledged += zip(response.json(), (value, -value), strict=True)
                    elif i % 3 == 1:
                        body = {
                            "token": ROBIN_TOKEN,
                            "series_id": series_id,
                            "fields": {"v": value},
                        }
                        response = http.put("/point/new", json=body)
                        assert response.status_code == 201, response.text
                        acknowledged.append((response.json(), value))
                    else:  # both servers race to create the same keyed series
                        response = http.post(
                            "/api/v2/write?bucket=b&precision=s",
                            content=f"room,sensor=s{i % 4} v={value}",
                            headers={"Authorization": f"Token {ROBIN_TOKEN}"},
                        )
                        assert response.status_code == 204, response.text
            return acknowledged

        with ThreadPoolExecutor(2 * WRITERS_PER_SERVER) as pool:
            results = list(pool.map(writer, range(2 * WRITERS_PER_SERVER)))

        acknowledged = dict(pair for result in results for pair in result)
        assert len(acknowledged) == sum(len(r) for r in results), "a point id was handed out twice"
        for server in servers:
            stored = httpx.get(f"{server.url}/series/{series_id}", timeout=30).json()
            assert sorted(p["id"] for p in stored) == sorted(acknowledged), "lost or doubled"
            assert {p["id"]: p["fields"]["v"] for p in stored} == acknowledged

        listing = httpx.get(servers[1].url + "/series").json()
        keyed = [s for s in listing.values() if s.get("measurement") == "room"]
        assert sorted(s["tags"]["sensor"] for s in keyed) == ["s0", "s1", "s2", "s3"]
        lines_written = 2 * WRITERS_PER_SERVER * (REQUESTS_PER_WRITER // 3)
        assert sum(s["count"] for s in keyed) == lines_written
        total = httpx.get(servers[0].url + "/points/count").json()
        assert total == len(acknowledged) + lines_written
    finally:
        for server in servers:
            server.stop()


def test_a_series_deleted_while_two_servers_write_to_it_leaves_no_point_behind(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    servers = [start_server(tmp_path, database_url, users_path, env=None) for _ in range(2)]
    try:
        series_id = httpx.put(
            servers[0].url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()

        def writer(n: int) -> list[int]:
            """Writes until the series is gone; returns the ids it was given."""
            acknowledged = []
            with httpx.Client(base_url=servers[n % 2].url, timeout=30) as http:
                for i in range(2000):
                    body = {"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": i}}
                    response = http.put("/point/new", json=body)
                    if response.status_code == 404:  # the delete has committed
                        return acknowledged
                    assert response.status_code == 201, response.text
                    acknowledged.append(response.json())
            return acknowledged

        with ThreadPoolExecutor(4) as pool:
            writing = [pool.submit(writer, n) for n in range(4)]
            time.sleep(0.5)
            response = httpx.request(
                "DELETE", f"{servers[1].url}/series/{series_id}", json={"token": ROBIN_TOKEN}
            )
            assert response.status_code == 204
            acknowledged = [pid for future in writing for pid in future.result()]

        assert acknowledged, "the writers never got going"
        assert httpx.get(f"{servers[0].url}/points/count").json() == 0
        for point_id in acknowledged[:: max(1, len(acknowledged) // 200)]:
            assert httpx.get(f"{servers[0].url}/point/{point_id}").status_code == 404
    finally:
        for server in servers:
            server.stop()


def test_point_counts_survive_restarts_of_every_server(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    """On PostgreSQL each writer counts in its own slot; slots of stopped servers are folded."""
    server = start_server(tmp_path, database_url, users_path, env=None)
    try:
        series_id = httpx.put(
            server.url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()
        for round_ in range(3):
            points = [{"fields": {"v": i}} for i in range(10)]
            body = {"token": ROBIN_TOKEN, "series_id": series_id, "points": points}
            assert httpx.post(server.url + "/point/new", json=body).status_code == 201
            point = httpx.get(f"{server.url}/series/{series_id}").json()[0]["id"]
            deleted = httpx.request(
                "DELETE", f"{server.url}/point/{point}", json={"token": ROBIN_TOKEN}
            )
            assert deleted.status_code == 204
            server.restart()
            assert httpx.get(server.url + "/series").json()[str(series_id)]["count"] == 9 * (
                round_ + 1
            )
            assert httpx.get(server.url + "/points/count").json() == 9 * (round_ + 1)
    finally:
        server.stop()


def _expected_hours(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every aggregate per hour and field, computed here from the points (in read order)."""
    hours: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for point in points:
        ts_us = int(datetime.fromisoformat(point["timestamp"]).timestamp()) * 1_000_000
        for name, value in point["fields"].items():
            hours[ts_us - ts_us % HOUR_US][name].append(value)
    return [
        {"timestamp": iso(hour), "fields": {
            name: {"count": len(v), "sum": sum(v), "min": min(v), "max": max(v),
                   "first": v[0], "last": v[-1]}
            for name, v in sorted(hours[hour].items())
        }}
        for hour in sorted(hours)
    ]  # fmt: skip


def test_hourly_summaries_merge_both_servers_writes_and_survive_restarts(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    """On PostgreSQL each writer merges summaries into rows of its own; reads merge them, a
    deleted point recomputes its hour across them, and restarts fold them into one."""
    servers = [start_server(tmp_path, database_url, users_path, env=None) for _ in range(2)]
    try:
        series_id = httpx.put(
            servers[0].url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()

        def writer(n: int) -> None:
            """Points of every writer fall in the same hours: integers and exact floats."""
            with httpx.Client(base_url=servers[n % 2].url, timeout=30) as http:
                for i in range(20):
                    point = {"timestamp": T0_US + (i * 4 + n) * 180_000_000,
                             "fields": {"n": n * 100 + i, "x": i / 4}}  # fmt: skip
                    body = {"token": ROBIN_TOKEN, "series_id": series_id, "precision": "us",
                            "points": [point]}  # fmt: skip
                    response = http.post("/point/new", json=body)
                    assert response.status_code == 201, response.text

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(writer, range(4)))

        def check_every_server() -> None:
            for server in servers:
                points = httpx.get(f"{server.url}/series/{series_id}").json()
                got = httpx.get(
                    f"{server.url}/series/{series_id}",
                    params={"every": "1h", "agg": "count,sum,min,max,first,last"},
                ).json()
                expected = _expected_hours(points)
                assert got == expected
                types = [type(v) for row in got for f in row["fields"].values() for v in f.values()]
                assert types == [
                    type(v) for row in expected for f in row["fields"].values() for v in f.values()
                ]
                fields = httpx.get(f"{server.url}/series/{series_id}/fields").json()
                assert [(f["name"], f["type"], f["count"]) for f in fields] == [
                    ("n", "integer", len(points)),
                    ("x", "float", len(points)),
                ]

        check_every_server()
        first = httpx.get(f"{servers[0].url}/series/{series_id}").json()[0]["id"]
        deleted = httpx.request(
            "DELETE", f"{servers[1].url}/point/{first}", json={"token": ROBIN_TOKEN}
        )
        assert deleted.status_code == 204
        check_every_server()
        for server in servers:
            server.restart()
        check_every_server()
    finally:
        for server in servers:
            server.stop()
