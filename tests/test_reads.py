"""GET /series/<id>: time ranges, limits and paging, order, field selection, bad parameters."""

import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from .conftest import ROBIN_TOKEN, Server
from .reads import HOUR_US, T0_US, bad_request, get_json, iso, write


@pytest.fixture
def points(client: TestClient, series_id: int) -> list[dict[str, Any]]:
    """Ten points a minute apart, two of them at the same time, as the server stored them."""
    minute = 60_000_000
    times = [T0_US + i * minute for i in range(9)] + [T0_US + 4 * minute]
    write(client, series_id, [(t, {"temp_C": 20 + i, "batt_V": 3.5}) for i, t in enumerate(times)])
    stored: list[dict[str, Any]] = get_json(client, f"/series/{series_id}")
    return stored


def test_the_default_answer_is_every_stored_document_in_time_order(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    assert [p["timestamp"] for p in points] == sorted(p["timestamp"] for p in points)
    for point in points:
        assert client.get(f"/point/{point['id']}").json() == point
    assert set(points[0]) == {"id", "series_id", "timestamp", "fields"}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (iso(T0_US + 120_000_000), iso(T0_US + 300_000_000)),  # ISO 8601
        ("2025-01-01T09:02:00+09:00", "2025-01-01T00:05:00Z"),  # offsets
        (str((T0_US + 120_000_000) // 1_000_000), str((T0_US + 300_000_000) / 1_000_000)),
    ],
)
def test_from_and_to_are_inclusive_in_every_syntax(
    client: TestClient, series_id: int, points: list[dict[str, Any]], start: str, end: str
) -> None:
    got = get_json(client, f"/series/{series_id}", **{"from": start, "to": end})
    expected = [p for p in points if iso(T0_US + 120_000_000) <= p["timestamp"]]
    expected = [p for p in expected if p["timestamp"] <= iso(T0_US + 300_000_000)]
    assert got == expected and len(got) == 5


def test_relative_times_count_back_from_now(client: TestClient, series_id: int) -> None:
    now = time.time_ns() // 1000
    write(client, series_id, [(now - 3 * HOUR_US, {"v": 1}), (now - HOUR_US // 2, {"v": 2})])
    for start in ("-1h", "now-1h", "-60m"):
        got = get_json(client, f"/series/{series_id}", **{"from": start, "to": "now"})
        assert [p["fields"]["v"] for p in got] == [2], start
    assert len(get_json(client, f"/series/{series_id}", **{"from": "-1d"})) == 2
    assert get_json(client, f"/series/{series_id}", **{"from": "now"}) == []


def test_an_empty_range_is_an_empty_list(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    assert get_json(client, f"/series/{series_id}", **{"from": "2030-01-01"}) == []
    assert get_json(client, f"/series/{series_id}", to="2024-12-31") == []


def test_order_desc_is_the_reverse(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    assert get_json(client, f"/series/{series_id}", order="desc") == points[::-1]
    assert get_json(client, f"/series/{series_id}", order="asc") == points


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 3, 4, 10, 11])
def test_pages_follow_each_other_without_gap_or_repeat(
    client: TestClient, series_id: int, points: list[dict[str, Any]], order: str, limit: int
) -> None:
    expected = points if order == "asc" else points[::-1]
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, "order": order}
    for _ in range(len(points) + 1):
        response = client.get(f"/series/{series_id}", params=params)
        assert response.status_code == 200
        page = response.json()
        assert len(page) <= limit
        seen += page
        if "x-next-after" not in response.headers:
            assert len(page) < limit
            break
        assert len(page) == limit
        assert 'rel="next"' in response.headers["link"]
        params["after"] = response.headers["x-next-after"]
    assert seen == expected


def test_the_link_header_is_the_next_page(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    first = client.get(f"/series/{series_id}", params={"limit": 4, "fields": "temp_C"})
    link = first.headers["link"]
    url = link[link.index("<") + 1 : link.index(">")]
    second = client.get(url).json()
    assert [p["id"] for p in second] == [p["id"] for p in points[4:8]]
    assert all(set(p["fields"]) == {"temp_C"} for p in second)


def test_limit_with_a_range(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    got = get_json(client, f"/series/{series_id}", limit=2, order="desc", to=points[5]["timestamp"])
    in_range = [p for p in points if p["timestamp"] <= points[5]["timestamp"]]
    assert got == in_range[::-1][:2]


def test_fields_keeps_only_those_and_skips_points_without_any(
    client: TestClient, series_id: int
) -> None:
    ids = write(client, series_id, [
        (T0_US, {"temp_C": 21.5, "batt_V": 3.9, "ok": True}),
        (T0_US + 1, {"batt_V": 3.8}),
        (T0_US + 2, {"ok": False, "note": "a \"quoted\" text"}),
    ])  # fmt: skip
    got = get_json(client, f"/series/{series_id}", fields="temp_C,ok")
    assert [p["id"] for p in got] == [ids[0], ids[2]]
    assert got[0]["fields"] == {"temp_C": 21.5, "ok": True}
    assert got[1]["fields"] == {"ok": False}
    assert list(got[0]) == ["id", "series_id", "timestamp", "fields"]
    assert got[0]["timestamp"] == iso(T0_US)
    noted = get_json(client, f"/series/{series_id}", fields="note")
    assert noted[0]["fields"] == {"note": 'a "quoted" text'}
    assert get_json(client, f"/series/{series_id}", fields="nothing") == []


def test_numbers_come_back_exactly_with_fields(client: TestClient, series_id: int) -> None:
    values = [0.1 + 0.2, 1e300, -0.0, 2**62, 12, 1.5e-7]
    write(client, series_id, [(T0_US + i, {"v": v, "w": 1}) for i, v in enumerate(values)])
    got = get_json(client, f"/series/{series_id}", fields="v")
    assert [p["fields"]["v"] for p in got] == values
    assert [type(p["fields"]["v"]) for p in got] == [type(v) for v in values]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-13-01"}, "to"),
        ({"from": "-5x"}, "from"),
        ({"from": "99999999999999"}, "out of range"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"order": "up"}, "order"),
        ({"after": "12"}, "after"),
        ({"after": "99999999999999999999_1"}, "after"),
        ({"fields": ""}, "fields"),
        ({"fields": "a,,b"}, "fields"),
        ({"fields": 'a"b'}, "double quote"),
        ({"fields": "x" * 65}, "fields"),
        ({"format": "xml"}, "format"),
        ({"callback": "alert(1)"}, "callback"),
        ({"agg": "mean"}, "every"),
        ({"tz": "+09:00"}, "every"),
        ({"fill": "null"}, "every"),
        ({"every": "1h", "after": "1_1"}, "after"),
        ({"every": "0h"}, "every"),
        ({"every": "1y"}, "every"),
        ({"every": "h"}, "every"),
        ({"every": "1h", "agg": "median"}, "agg"),
        ({"every": "1h", "agg": "mean,mean"}, "agg"),
        ({"every": "1h", "agg": ""}, "agg"),
        ({"every": "1h", "tz": "+25:00"}, "tz"),
        ({"every": "1h", "tz": "Europe/Paris"}, "tz"),
        ({"every": "1h", "fill": "maybe"}, "fill"),
        ({"every": "1h", "fill": "inf"}, "fill"),
        ({"every": "1s", "fill": "null", "from": "2000-01-01", "to": "2025-01-01"}, "buckets"),
    ],
)
def test_malformed_parameters_are_a_clean_400(
    client: TestClient, series_id: int, params: dict[str, str], says: str
) -> None:
    write(client, series_id, [(T0_US, {"v": 1})])
    assert says in bad_request(client, f"/series/{series_id}", **params)


@pytest.mark.parametrize("path", ["", "/latest", "/fields", "/count"])
def test_a_missing_series_is_404_and_a_bad_id_400(client: TestClient, path: str) -> None:
    response = client.get(f"/series/999{path}")
    assert response.status_code == 404
    assert "999" in response.json()["message"]
    assert client.get(f"/series/abc{path}").status_code == 400


def test_paging_under_concurrent_writes_never_skips_or_repeats(server: Server) -> None:
    """A writer adds points (some late, some new) while a reader pages through the series:
    every point that existed when paging began is read exactly once."""
    auth = {"Authorization": f"Bearer {ROBIN_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as c:
        sid = c.put("/series/new", json={"device_desc": "d", "device_id": "i"}).json()

        def post(times: list[int]) -> list[int]:
            body = {"series_id": sid, "precision": "us",
                    "points": [{"timestamp": t, "fields": {"v": t}} for t in times]}  # fmt: skip
            response = c.post("/point/new", json=body)
            assert response.status_code == 201, response.text
            ids: list[int] = response.json()
            return ids

        # Many points share a time, so pages end in the middle of ties.
        before = post([T0_US + (i // 3) * 1000 for i in range(600)])
        stop = threading.Event()
        added: list[int] = []

        def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1  # a late point among the old ones and a new one after them
                added.extend(post([T0_US + (n % 200) * 1000, T0_US + 10**9 + n]))

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            seen: list[int] = []
            params: dict[str, Any] = {"limit": 7}
            for _ in range(1000):  # a cursor that does not advance must not hang the test
                response = c.get(f"/series/{sid}", params=params)
                seen += [p["id"] for p in response.json()]
                if "x-next-after" not in response.headers:
                    break
                params["after"] = response.headers["x-next-after"]
        finally:
            stop.set()
            writer.join()
    assert len(seen) == len(set(seen)), "a point was read twice"
    assert set(before) <= set(seen), "a point that existed before paging was skipped"
    assert added, "the writer wrote nothing while the reader paged"


def test_an_unencoded_plus_in_an_iso_time_still_means_plus(
    client: TestClient, series_id: int, points: list[dict[str, Any]]
) -> None:
    # "+09:00" typed into a URL arrives as " 09:00"
    got = client.get(f"/series/{series_id}?from=2025-01-01T09:08:00+09:00").json()
    assert [p["timestamp"] for p in got] == [iso(T0_US + 8 * 60_000_000)]
