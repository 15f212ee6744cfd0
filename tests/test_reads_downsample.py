"""Downsampling: every= with agg=, compared with aggregates computed here from the points."""

import random
import sqlite3
from collections import defaultdict
from pathlib import Path
from statistics import fmean
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.config import Settings
from timeseries_api.storage.documents import point_document
from timeseries_api.storage.migrations import migrations

from .conftest import ROBIN_TOKEN
from .reads import HOUR_US, T0_US, get_json, iso, write

AGGS = ("mean", "min", "max", "sum", "count", "first", "last")
DAY_US = 24 * HOUR_US


def random_points(seed: int, count: int, span_us: int) -> list[tuple[int, dict[str, Any]]]:
    """Points at random times over ``span_us`` from T0: a float, an int that is sometimes
    missing, a boolean and a string (never aggregated)."""
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        fields: dict[str, Any] = {"temp": round(rng.uniform(-10, 35), 3), "ok": rng.random() < 0.5}
        if rng.random() < 0.7:
            fields["n"] = rng.randint(-1000, 1000)
        if rng.random() < 0.2:
            fields["note"] = "text"
        points.append((T0_US + rng.randrange(span_us), fields))
    return points


def expected_rows(
    points: list[tuple[int, dict[str, Any]]],
    every: int,
    offset: int = 0,
    start: int | None = None,
    end: int | None = None,
) -> dict[int, dict[str, dict[str, Any]]]:
    """Every aggregate of every numeric field per bucket, computed independently.

    Points were written in list order, so among equal times the first in the list is first.
    """
    buckets: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for order, (ts, fields) in enumerate(points):
        if (start is not None and ts < start) or (end is not None and ts > end):
            continue
        local_day = (ts + offset) - (ts + offset) % every - offset
        for name, value in fields.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                buckets[local_day][name].append((ts, order, value))
    rows = {}
    for bucket, by_field in buckets.items():
        rows[bucket] = {}
        for name, values in by_field.items():
            numbers = [v for _, _, v in sorted(values)]
            rows[bucket][name] = {
                "mean": fmean(numbers), "min": min(numbers), "max": max(numbers),
                "sum": sum(numbers), "count": len(numbers),
                "first": numbers[0], "last": numbers[-1],
            }  # fmt: skip
    return rows


def check(got: list[dict[str, Any]], expected: dict[int, dict[str, dict[str, Any]]],
          offset_iso: str = "+00:00") -> None:  # fmt: skip
    assert [row["timestamp"][-6:] for row in got] == [offset_iso] * len(got)
    assert len(got) == len(expected)
    for row, bucket in zip(got, sorted(expected), strict=True):
        assert row["timestamp"][:-6] == iso(bucket + _offset_us(offset_iso))[:-6]
        assert set(row["fields"]) == set(expected[bucket])
        for name, aggs in row["fields"].items():
            for agg, value in aggs.items():
                assert value == pytest.approx(expected[bucket][name][agg], rel=1e-9, abs=1e-9), (
                    row["timestamp"], name, agg,
                )  # fmt: skip


def _offset_us(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6])) * 60_000_000


@pytest.mark.parametrize(
    ("every", "every_us"),
    [("1h", HOUR_US), ("3h", 3 * HOUR_US), ("1d", DAY_US), ("1w", 7 * DAY_US),
     ("15m", HOUR_US // 4), ("90m", 3 * HOUR_US // 2), ("45s", 45_000_000)],
)  # fmt: skip
def test_every_aggregate_matches_an_independent_computation(
    client: TestClient, series_id: int, every: str, every_us: int
) -> None:
    points = random_points(1, 2000, 20 * DAY_US)
    write(client, series_id, points)
    got = get_json(client, f"/series/{series_id}", every=every, agg=",".join(AGGS))
    check(got, expected_rows(points, every_us))
    assert all(list(row["fields"]["temp"]) == list(AGGS) for row in got)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0_US + 5 * HOUR_US + 1234, T0_US + 50 * HOUR_US - 7),  # partial hours at both edges
        (T0_US + 5 * HOUR_US, T0_US + 50 * HOUR_US - 1),  # whole hours only
        (T0_US + 5 * HOUR_US + 10, T0_US + 5 * HOUR_US + 2_000_000_000),  # within one hour
        (T0_US + 5 * HOUR_US, T0_US + 5 * HOUR_US),  # one instant
    ],
)
@pytest.mark.parametrize("every", ["1h", "1d"])
def test_ranges_that_cut_hours_count_only_the_points_inside(
    client: TestClient, series_id: int, start: int, end: int, every: str
) -> None:
    points = random_points(2, 3000, 4 * DAY_US)
    points.append((start, {"temp": 99.0}))  # exactly at the edges: inside
    points.append((end, {"temp": -99.0}))
    points.append((start - 1, {"temp": 1e6}))  # just outside
    points.append((end + 1, {"temp": -1e6}))
    write(client, series_id, points)
    every_us = HOUR_US if every == "1h" else DAY_US
    got = get_json(
        client, f"/series/{series_id}", every=every, agg=",".join(AGGS),
        **{"from": iso(start), "to": iso(end)},
    )  # fmt: skip
    check(got, expected_rows(points, every_us, 0, start, end))


def test_a_point_at_a_bucket_start_belongs_to_that_bucket(
    client: TestClient, series_id: int
) -> None:
    write(client, series_id, [
        (T0_US + HOUR_US - 1, {"v": 1}), (T0_US + HOUR_US, {"v": 2}),
        (T0_US + 2 * HOUR_US - 1, {"v": 3}), (T0_US + 2 * HOUR_US, {"v": 4}),
    ])  # fmt: skip
    got = get_json(client, f"/series/{series_id}", every="1h", agg="count,sum")
    assert got == [
        {"timestamp": iso(T0_US), "fields": {"v": {"count": 1, "sum": 1}}},
        {"timestamp": iso(T0_US + HOUR_US), "fields": {"v": {"count": 2, "sum": 5}}},
        {"timestamp": iso(T0_US + 2 * HOUR_US), "fields": {"v": {"count": 1, "sum": 4}}},
    ]


@pytest.mark.parametrize("tz", ["+09:00", "-05:00", "+05:30", "-03:45", "Z"])
def test_day_buckets_start_at_midnight_of_the_offset(
    client: TestClient, series_id: int, tz: str
) -> None:
    offset = 0 if tz == "Z" else _offset_us(tz)
    midnight = T0_US + 3 * DAY_US - offset  # local midnight, in UTC
    points = random_points(3, 1500, 8 * DAY_US)
    points += [(midnight - 1, {"temp": 1000.0}), (midnight, {"temp": -1000.0})]
    write(client, series_id, points)
    got = get_json(client, f"/series/{series_id}", every="1d", tz=tz, agg=",".join(AGGS))
    check(got, expected_rows(points, DAY_US, offset), "+00:00" if tz == "Z" else tz)
    starts = [row["timestamp"] for row in got]
    assert all("T00:00:00.000000" in s for s in starts)


def test_an_unencoded_plus_in_tz_still_means_plus(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US + 20 * HOUR_US, {"v": 1})])
    response = client.get(f"/series/{series_id}?every=1d&tz=+09:00")
    assert response.json()[0]["timestamp"] == "2025-01-02T00:00:00.000000+09:00"


def test_fill_leaves_out_or_fills_empty_buckets(client: TestClient, series_id: int) -> None:
    write(client, series_id, [
        (T0_US + 10, {"a": 1, "b": 10}), (T0_US + 3 * HOUR_US, {"a": 3}),
    ])  # fmt: skip
    path = f"/series/{series_id}"
    span = {"from": iso(T0_US - HOUR_US), "to": iso(T0_US + 4 * HOUR_US - 1)}

    def values(fill: str) -> list[Any]:
        rows = get_json(client, path, every="1h", agg="mean", fill=fill, **span)
        return [(r["timestamp"], {k: v["mean"] for k, v in r["fields"].items()}) for r in rows]

    h = [iso(T0_US + i * HOUR_US) for i in range(-1, 4)]
    assert values("none") == [(h[1], {"a": 1, "b": 10}), (h[4], {"a": 3})]
    assert values("null") == [
        (h[0], {"a": None, "b": None}), (h[1], {"a": 1, "b": 10}), (h[2], {"a": None, "b": None}),
        (h[3], {"a": None, "b": None}), (h[4], {"a": 3, "b": None}),
    ]  # fmt: skip
    assert values("0") == [
        (h[0], {"a": 0, "b": 0}), (h[1], {"a": 1, "b": 10}), (h[2], {"a": 0, "b": 0}),
        (h[3], {"a": 0, "b": 0}), (h[4], {"a": 3, "b": 0}),
    ]  # fmt: skip
    assert values("previous") == [
        (h[0], {"a": None, "b": None}), (h[1], {"a": 1, "b": 10}), (h[2], {"a": 1, "b": 10}),
        (h[3], {"a": 1, "b": 10}), (h[4], {"a": 3, "b": 10}),
    ]  # fmt: skip
    # Without a range, filling runs from the first to the last bucket of the data.
    rows = get_json(client, path, every="1h", fill="null")
    assert [r["timestamp"] for r in rows] == h[1:]


def test_an_empty_range_has_no_rows_unless_filled(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US, {"v": 1})])
    span = {"from": "2025-06-01T00:00:00Z", "to": "2025-06-01T02:59:59Z"}
    assert get_json(client, f"/series/{series_id}", every="1h", **span) == []
    filled = get_json(client, f"/series/{series_id}", every="1h", fill="null", fields="v", **span)
    assert filled == [
        {"timestamp": f"2025-06-01T0{i}:00:00.000000+00:00", "fields": {"v": {"mean": None}}}
        for i in range(3)
    ]


def test_fields_order_and_limit_apply_to_buckets(client: TestClient, series_id: int) -> None:
    points = random_points(4, 500, 2 * DAY_US)
    write(client, series_id, points)
    expected = expected_rows(points, HOUR_US)
    got = get_json(client, f"/series/{series_id}", every="1h", fields="n", order="desc", limit=5)
    newest = sorted(expected, reverse=True)[:5]
    assert [r["timestamp"] for r in got] == [iso(b) for b in newest]
    assert [r["fields"]["n"]["mean"] for r in got] == pytest.approx(
        [expected[b]["n"]["mean"] for b in newest]
    )
    assert all(set(r["fields"]) == {"n"} for r in got)


def test_deleting_a_point_recomputes_its_hour(client: TestClient, series_id: int) -> None:
    points = random_points(5, 300, 6 * HOUR_US)
    ids = write(client, series_id, points)
    victims = [0, 7, 42]
    for index in victims:
        auth = {"Authorization": f"Bearer {ROBIN_TOKEN}"}
        response = client.delete(f"/point/{ids[index]}", headers=auth)
        assert response.status_code == 204
    left = [p for i, p in enumerate(points) if i not in victims]
    got = get_json(client, f"/series/{series_id}", every="1h", agg=",".join(AGGS))
    check(got, expected_rows(left, HOUR_US))
    fields = {f["name"]: f["count"] for f in get_json(client, f"/series/{series_id}/fields")}
    assert fields["temp"] == len(left)


def test_booleans_and_strings_are_not_aggregated(client: TestClient, series_id: int) -> None:
    write(client, series_id, [(T0_US, {"ok": True, "s": "x", "v": 2}), (T0_US + 1, {"v": 2.5})])
    got = get_json(client, f"/series/{series_id}", every="1h", agg="mean,first,last")
    values = {"mean": 2.25, "first": 2, "last": 2.5}
    assert got == [{"timestamp": iso(T0_US), "fields": {"v": values}}]


def test_rollups_of_points_written_before_the_upgrade(tmp_path: Path, users_path: Path) -> None:
    """Migration 003 summarizes the points a database already holds."""
    database = tmp_path / "old.sqlite"
    points = random_points(6, 400, 3 * DAY_US)
    # A database as versions 1 and 2 of the schema left it, with points written the old way.
    conn = sqlite3.connect(database)
    for version, _, sql in migrations("sqlite"):
        if version <= 2:
            conn.executescript(sql)
    conn.execute(
        'INSERT INTO series (id, owner_id, "desc", device_desc, device_id, created_us, '
        "point_count) VALUES (1, 1, '', 'd', 'i', 0, ?)",
        (len(points),),
    )
    conn.executemany(
        "INSERT INTO points (id, series_id, ts, doc) VALUES (?, 1, ?, ?)",
        [(i + 1, ts, point_document(i + 1, 1, ts, orjson.dumps(fields)))
         for i, (ts, fields) in enumerate(points)],
    )  # fmt: skip
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    sid = 1
    settings = Settings(database=f"sqlite:///{database}", users=users_path)
    with TestClient(create_app(settings)) as client:
        got = get_json(client, f"/series/{sid}", every="1h", agg=",".join(AGGS))
        check(got, expected_rows(points, HOUR_US))
        kinds = {f["name"]: f["type"] for f in get_json(client, f"/series/{sid}/fields")}
        assert kinds["temp"] == "float" and kinds["ok"] == "boolean" and kinds["note"] == "string"


@pytest.mark.postgres
def test_postgresql_rollups_of_points_written_before_the_upgrade(
    users_path: Path, postgres_schema: str
) -> None:
    """Migration postgres/004 summarizes the points a database already holds, a point with an
    escaped NUL among them."""
    points = random_points(7, 400, 3 * DAY_US)
    points.append((T0_US + 3 * DAY_US, {"note": "a\x00b"}))  # the latest
    with psycopg.connect(postgres_schema, autocommit=True) as conn:
        for version, name, sql in migrations("postgres"):
            if version <= 3:
                conn.execute(sql.encode())
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, name))
        conn.execute(
            'INSERT INTO series (id, owner_id, "desc", device_desc, device_id, created_us) '
            "VALUES (1, 1, '', 'd', 'i', 0)"
        )
        conn.execute("INSERT INTO point_counts VALUES (1, 0, %s)", (len(points),))
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO points (id, series_id, ts, doc) VALUES (%s, 1, %s, %s)",
                [(i + 1, ts, point_document(i + 1, 1, ts, orjson.dumps(fields)))
                 for i, (ts, fields) in enumerate(points)],
            )  # fmt: skip
    with TestClient(create_app(Settings(database=postgres_schema, users=users_path))) as client:
        got = get_json(client, "/series/1", every="1h", agg=",".join(AGGS))
        check(got, expected_rows(points, HOUR_US))
        fields = {f["name"]: f for f in get_json(client, "/series/1/fields")}
        assert fields["temp"]["type"] == "float" and fields["ok"]["type"] == "boolean"
        notes = sum(1 for _, f in points if "note" in f)
        assert fields["note"]["type"] == "string" and fields["note"]["count"] == notes
        assert get_json(client, "/series/1/latest")["fields"] == {"note": "a\x00b"}


def test_series_created_by_line_protocol_are_summarized_too(client: TestClient) -> None:
    lines = "\n".join(
        f"climate,device=balcony temp_C={20 + i},rssi={-60 - i}i {T0_US // 1_000_000 + i * 900}"
        for i in range(8)
    )
    response = client.post(
        "/api/v2/write?org=home&bucket=iot&precision=s",
        content=lines,
        headers={"Authorization": f"Token {ROBIN_TOKEN}"},
    )
    assert response.status_code == 204, response.text
    (sid,) = [int(s) for s in client.get("/series").json()]
    got = get_json(client, f"/series/{sid}", every="1h", agg="mean,count")
    assert got == [
        {"timestamp": iso(T0_US), "fields": {"rssi": {"mean": -61.5, "count": 4},
                                             "temp_C": {"mean": 21.5, "count": 4}}},
        {"timestamp": iso(T0_US + HOUR_US), "fields": {"rssi": {"mean": -65.5, "count": 4},
                                                       "temp_C": {"mean": 25.5, "count": 4}}},
    ]  # fmt: skip
