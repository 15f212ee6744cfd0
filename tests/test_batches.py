"""Batched writes and device timestamps on /point/new: all or nothing, ids in order."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.config import Settings

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, Server

T = ROBIN_TOKEN


def series_points(client: TestClient, series_id: int) -> list[dict[str, object]]:
    response = client.get(f"/series/{series_id}")
    assert response.status_code == 200
    points: list[dict[str, object]] = response.json()
    return points


def new_series(client: TestClient, token: str = T) -> int:
    response = client.put(
        "/series/new", json={"token": token, "device_desc": "d", "device_id": "i"}
    )
    series_id: int = response.json()
    return series_id


def test_a_list_of_seed_points_answers_the_ids_in_order(client: TestClient) -> None:
    a, b = new_series(client), new_series(client)
    body = [
        {"token": T, "series_id": a, "fields": {"v": 1}},
        {"token": T, "series_id": b, "fields": {"v": 2}},
        {"token": T, "series_id": a, "fields": {"v": 3}},
    ]
    response = client.put("/point/new", json=body)
    assert response.status_code == 201
    ids = response.json()
    assert ids == [1, 2, 3]
    assert [p["fields"] for p in series_points(client, a)] == [{"v": 1}, {"v": 3}]
    assert [p["id"] for p in series_points(client, b)] == [2]


def test_a_points_batch_answers_the_ids_in_order(client: TestClient, series_id: int) -> None:
    body = {"token": T, "series_id": series_id, "points": [{"fields": {"v": i}} for i in range(50)]}
    response = client.post("/point/new", json=body)
    assert response.status_code == 201
    ids = response.json()
    assert len(ids) == 50 and ids == sorted(ids)
    stored = series_points(client, series_id)
    assert [p["id"] for p in stored] == ids
    assert [p["fields"]["v"] for p in stored] == list(range(50))  # type: ignore[index]


def test_the_bearer_header_covers_every_point_of_a_list(client: TestClient, series_id: int) -> None:
    body = [{"series_id": series_id, "fields": {"v": i}} for i in range(3)]
    response = client.put("/point/new", json=body, headers={"Authorization": f"Bearer {T}"})
    assert response.status_code == 201 and len(response.json()) == 3


@pytest.mark.parametrize(
    ("timestamp", "precision", "expected"),
    [
        ("2026-11-20T08:30:00Z", None, "2026-11-20T08:30:00.000000+00:00"),
        ("2026-11-20T17:30:00+09:00", None, "2026-11-20T08:30:00.000000+00:00"),
        ("2026-11-20T08:30:00.123456", None, "2026-11-20T08:30:00.123456+00:00"),
        ("2026-11-20", None, "2026-11-20T00:00:00.000000+00:00"),
        (1763627400, None, "2025-11-20T08:30:00.000000+00:00"),
        (1763627400.25, "s", "2025-11-20T08:30:00.250000+00:00"),
        (1763627400123, "ms", "2025-11-20T08:30:00.123000+00:00"),
        (1763627400123456, "us", "2025-11-20T08:30:00.123456+00:00"),
        (1763627400123456789, "ns", "2025-11-20T08:30:00.123456+00:00"),
    ],
)
def test_device_timestamps_in_every_accepted_form(
    client: TestClient, series_id: int, timestamp: object, precision: str | None, expected: str
) -> None:
    body: dict[str, object] = {
        "token": T, "series_id": series_id, "fields": {"v": 1}, "timestamp": timestamp,
    }  # fmt: skip
    if precision:
        body["precision"] = precision
    response = client.put("/point/new", json=body)
    assert response.status_code == 201, response.text
    assert client.get(f"/point/{response.json()}").json()["timestamp"] == expected


def test_precision_can_come_in_the_query_string(client: TestClient, series_id: int) -> None:
    body = {"token": T, "series_id": series_id, "points": [{"fields": {"v": 1},
            "timestamp": 1763627400123}]}  # fmt: skip
    response = client.put("/point/new", params={"precision": "ms"}, json=body)
    assert response.status_code == 201
    assert series_points(client, series_id)[0]["timestamp"] == "2025-11-20T08:30:00.123000+00:00"


def test_points_sent_out_of_order_read_back_in_time_order(
    client: TestClient, series_id: int
) -> None:
    stamps = ["2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    body = {"token": T, "series_id": series_id,
            "points": [{"fields": {"day": s[8:10]}, "timestamp": s} for s in stamps]}  # fmt: skip
    assert client.put("/point/new", json=body).status_code == 201
    days = [p["fields"]["day"] for p in series_points(client, series_id)]  # type: ignore[index]
    assert days == ["01", "02", "03"]


def test_server_stamps_points_without_a_timestamp(client: TestClient, series_id: int) -> None:
    before = datetime.now(UTC)
    points = [{"fields": {"v": 1}}, {"fields": {"v": 2}, "timestamp": "2026-01-01T00:00:00Z"}]
    client.put("/point/new", json={"token": T, "series_id": series_id, "points": points})
    stamps = [datetime.fromisoformat(str(p["timestamp"])) for p in series_points(client, series_id)]
    assert stamps[0] == datetime(2026, 1, 1, tzinfo=UTC)
    assert before - timedelta(seconds=1) <= stamps[1] <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("points", "words"),
    [
        (
            [{"fields": {"v": 1}}, {"fields": {"v": 2}}, {"fields": {}}],
            "points[2].fields: is empty",
        ),
        ([{"fields": {"v": 1}}, {"fieldz": {"v": 2}}], "points[1].fields: this field is required"),
        ([{"fields": {"v": 1}}, {"fields": {"v": [2]}}], "points[1].fields: 'v'"),
        ([{"fields": {"v": 1}, "timestamp": "soon"}], "points[0].timestamp"),
        ([{"fields": {"v": 1}, "timestamp": 0}], "points[0].timestamp 1970-01-01"),
        ([{"fields": {"v": 1}, "timestamp": True}], "points[0].timestamp"),
        ([], "points: List should have at least 1 item"),
    ],
)
def test_one_bad_point_rejects_the_whole_batch_naming_its_index(
    client: TestClient, series_id: int, points: list[object], words: str
) -> None:
    response = client.put("/point/new", json={"token": T, "series_id": series_id, "points": points})
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert client.get("/points/count").json() == 0


def test_one_bad_object_in_a_list_rejects_the_list_naming_its_index(
    client: TestClient, series_id: int
) -> None:
    body = [{"token": T, "series_id": series_id, "fields": {"v": 1}},
            {"token": T, "series_id": series_id, "fields": "warm"}]  # fmt: skip
    response = client.put("/point/new", json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("[1].fields")
    assert client.get("/points/count").json() == 0


def test_a_list_touching_another_users_series_writes_nothing(client: TestClient) -> None:
    mine, theirs = new_series(client), new_series(client, ALICE_TOKEN)
    body = [{"token": T, "series_id": mine, "fields": {"v": 1}},
            {"token": T, "series_id": theirs, "fields": {"v": 2}}]  # fmt: skip
    response = client.put("/point/new", json=body)
    assert response.status_code == 403
    assert client.get("/points/count").json() == 0


def test_a_list_with_a_missing_series_writes_nothing(client: TestClient, series_id: int) -> None:
    body = [{"token": T, "series_id": series_id, "fields": {"v": 1}},
            {"token": T, "series_id": 999, "fields": {"v": 2}}]  # fmt: skip
    assert client.put("/point/new", json=body).status_code == 404
    assert client.get("/points/count").json() == 0


def test_a_list_with_an_unknown_token_writes_nothing(client: TestClient, series_id: int) -> None:
    body = [{"token": T, "series_id": series_id, "fields": {"v": 1}},
            {"token": "stolen?", "series_id": series_id, "fields": {"v": 2}}]  # fmt: skip
    assert client.put("/point/new", json=body).status_code == 401
    assert client.get("/points/count").json() == 0


def test_future_timestamps_beyond_a_day_are_refused(client: TestClient, series_id: int) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    late = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    ok = client.put("/point/new", json={"token": T, "series_id": series_id, "fields": {"v": 1},
                                        "timestamp": soon})  # fmt: skip
    refused = client.put("/point/new", json={"token": T, "series_id": series_id,
                                             "fields": {"v": 1}, "timestamp": late})  # fmt: skip
    assert ok.status_code == 201
    assert refused.status_code == 400 and "future" in refused.json()["message"]


def test_an_unknown_precision_is_refused(client: TestClient, series_id: int) -> None:
    body = {"token": T, "series_id": series_id, "fields": {"v": 1}}
    response = client.put("/point/new", params={"precision": "fortnights"}, json=body)
    assert response.status_code == 400 and "precision" in response.json()["message"]


def test_the_time_window_is_configurable(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    settings = Settings(database=database_url, users=users_path,
                        min_timestamp="1970-01-01T00:00:00Z", max_future_seconds=0)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        sid = new_series(client)
        old = client.put("/point/new", json={"token": T, "series_id": sid, "fields": {"v": 1},
                                             "timestamp": 86400})  # fmt: skip
        assert old.status_code == 201
        assert client.get(f"/point/{old.json()}").json()["timestamp"].startswith("1970-01-02")


def test_refused_writes_in_a_shared_commit_leave_their_neighbours_stored(server: Server) -> None:
    """Concurrent requests share commits: a refused one (another user's series, a missing one)
    must change nothing, and every request beside it must be stored, and counted."""
    mine, theirs = (
        httpx.put(
            server.url + "/series/new", json={"token": token, "device_desc": "d", "device_id": "i"}
        ).json()
        for token in (T, ALICE_TOKEN)
    )
    # (token, series, expected status): good writes of two users, and two kinds of refusal.
    kinds = [(T, mine, 201), (ALICE_TOKEN, theirs, 201), (T, theirs, 403), (T, 999_999, 404)]

    def writer(n: int) -> tuple[int, dict[int, int]]:
        token, target, expected = kinds[n % len(kinds)]
        stored: dict[int, int] = {}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(30):
                body = {"token": token, "series_id": target, "fields": {"v": n * 1000 + i}}
                response = http.put("/point/new", json=body)
                assert response.status_code == expected, response.text
                if expected == 201:
                    stored[response.json()] = n * 1000 + i
        return target, stored

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(writer, range(12)))

    for series_id in (mine, theirs):
        expected = {
            pid: v for target, got in results if target == series_id for pid, v in got.items()
        }
        points = httpx.get(f"{server.url}/series/{series_id}").json()
        assert {p["id"]: p["fields"]["v"] for p in points} == expected
        assert httpx.get(f"{server.url}/series/{series_id}/count").json() == len(expected)
    assert httpx.get(server.url + "/points/count").json() == 6 * 30
