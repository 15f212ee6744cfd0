"""Past its capacity the server sheds load with 503 and Retry-After, and loses nothing it
acknowledged."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from .conftest import ROBIN_TOKEN, start_server


def test_a_full_write_queue_answers_503_with_retry_after(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    server = start_server(tmp_path, database_url, users_path, "--max-queued-writes", "1", env=None)
    try:
        series_id = httpx.put(
            server.url + "/series/new",
            json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
        ).json()

        def write(i: int) -> httpx.Response:
            body = {"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": i}}
            return httpx.put(server.url + "/point/new", json=body, timeout=30)

        def influx_write(i: int) -> httpx.Response:
            return httpx.post(
                server.url + "/write",
                params={"db": "b", "p": ROBIN_TOKEN},
                content=f"m v={i}".encode(),
                timeout=30,
            )

        with ThreadPoolExecutor(64) as pool:
            seed = list(pool.map(write, range(400)))
            influx = list(pool.map(influx_write, range(400)))

        shed = [r for r in seed if r.status_code == 503]
        assert shed, "64 concurrent writers never found a queue of one busy"
        assert {r.status_code for r in seed} <= {201, 503}
        assert all(r.headers["retry-after"] == "1" and "retry" in r.json()["message"] for r in shed)
        acknowledged = {r.json() for r in seed if r.status_code == 201}
        stored = {p["id"] for p in httpx.get(f"{server.url}/series/{series_id}").json()}
        assert stored == acknowledged

        influx_shed = [r for r in influx if r.status_code == 503]
        assert {r.status_code for r in influx} <= {204, 503}
        assert all("error" in r.json() and r.headers["retry-after"] == "1" for r in influx_shed)
        total = httpx.get(server.url + "/points/count").json()
        assert total == len(acknowledged) + sum(r.status_code == 204 for r in influx)
    finally:
        server.stop()
