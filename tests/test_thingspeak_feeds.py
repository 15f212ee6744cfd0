"""ThingSpeak feeds over a time range of any length (streamed, chunk by chunk from storage) and
the ``timezone`` parameter, for writes and reads."""

import csv
import io
import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.config import Settings

from .conftest import ROBIN_TOKEN
from .test_keys import new_key, points

START = datetime(2026, 11, 25, tzinfo=UTC)
# More entries than storage reads in one chunk (10,000), so a period and the JSON list both
# continue across a chunk boundary.
MANY = 10_050


def seconds_entries(client: TestClient, series_id: int, count: int) -> list[int]:
    """``count`` entries one second apart from START, field1 = i, field2 only on the last."""
    updates: list[dict[str, object]] = [
        {"created_at": (START + timedelta(seconds=i)).isoformat(), "field1": i}
        for i in range(count)
    ]
    updates[-1]["field2"] = "last"
    response = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": ROBIN_TOKEN, "updates": updates},
    )
    assert response.status_code == 202, response.text
    return list(range(count))


def test_a_time_range_streams_every_entry(client: TestClient, series_id: int) -> None:
    values = seconds_entries(client, series_id, MANY)
    url = f"/channels/{series_id}/feeds.json"
    ranged = client.get(url, params={"start": "2026-11-25 00:00:00"})
    assert "content-length" not in ranged.headers  # sent as it is read
    assert ranged.headers["content-type"] == "application/json; charset=utf-8"
    # The same bytes as the whole feed asked by count, which is answered in one piece.
    counted = client.get(url, params={"results": MANY})
    assert int(counted.headers["content-length"]) == len(counted.content)
    assert ranged.content == counted.content
    # Compact JSON as orjson writes it, every entry with every field of the channel.
    feed = ranged.json()
    assert ranged.content == json.dumps(feed, separators=(",", ":")).encode()
    assert [int(e["field1"]) for e in feed["feeds"]] == values
    assert {e["field2"] for e in feed["feeds"][:-1]} == {None}
    assert feed["feeds"][-1]["field2"] == "last" and feed["channel"]["field2"] == "field2"

    as_csv = client.get(url.replace(".json", ".csv"), params={"start": "2026-11-25"})
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["created_at", "entry_id", "field1", "field2"]
    assert [int(r[2]) for r in rows[1:]] == values and rows[-1][3] == "last"
    # A short range is answered whole, with its length, as the Arduino library needs.
    short = client.get(url, params={"start": "2026-11-25 00:00:10", "end": "2026-11-25 00:00:29"})
    assert int(short.headers["content-length"]) == len(short.content)
    assert [int(e["field1"]) for e in short.json()["feeds"]] == values[10:30]
    empty = client.get(url, params={"start": "2030-01-01"}).json()

    assert empty["feeds"] == [] and empty["channel"]["id"] == series_id


@pytest.mark.parametrize("how", ["average", "sum", "median", "timescale"])
def test_periods_spanning_storage_chunks(client: TestClient, series_id: int, how: str) -> None:
    values = seconds_entries(client, series_id, MANY)
    expected: dict[int, list[int]] = {}
    for i, value in enumerate(values):
        expected.setdefault(i // 600, []).append(value)  # 10-minute periods from START
    combine = {"average": statistics.fmean, "median": statistics.median, "sum": sum,
               "timescale": lambda vs: vs[0]}[how]  # fmt: skip
    feed = client.get(
        f"/channels/{series_id}/feeds.json", params={"start": "2026-11-25", how: "10"}
    ).json()["feeds"]
    assert [e["created_at"] for e in feed] == [
        (START + timedelta(minutes=10 * k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in expected
    ]
    assert [float(e["field1"]) for e in feed] == pytest.approx(
        [combine(vs) for vs in expected.values()]
    )


# -- timezone -------------------------------------------------------------------------------------


def test_timezone_reads_naive_times_and_writes_replies_in_that_zone(
    client: TestClient, series_id: int
) -> None:
    key = new_key(client, series_id)["key"]
    zone = ZoneInfo("America/New_York")
    local = datetime(2026, 11, 24, 7, 0, 0)  # naive: 07:00 in New York is 12:00 UTC
    utc = local.replace(tzinfo=zone).astimezone(UTC)
    written = client.post(
        "/update.json",
        data={"api_key": key, "field1": "1", "created_at": str(local), "timezone": zone.key},
    ).json()
    assert written["created_at"] == "2026-11-24T07:00:00-05:00"
    stored = client.get(f"/point/{written['entry_id']}").json()["timestamp"]
    assert datetime.fromisoformat(stored) == utc
    # An explicit offset or "UTC" wins over the zone.
    explicit = client.get("/update", params={"api_key": key, "field1": "2", "timezone": zone.key,
                                             "created_at": "2026-11-24 13:00:00 UTC"})  # fmt: skip
    assert client.get(f"/point/{explicit.text}").json()["timestamp"].startswith("2026-11-24T13:00")
    # Bulk updates take it beside the updates; in summer New York is 4 hours behind.
    summer = datetime(2026, 7, 1, 8, 0, 0)
    bulk = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": key, "timezone": zone.key,
              "updates": [{"created_at": str(summer), "field1": 3}]},
    )  # fmt: skip
    assert bulk.status_code == 202, bulk.text
    assert [datetime.fromisoformat(p["timestamp"]) for p in points(client, series_id)] == [
        summer.replace(tzinfo=zone).astimezone(UTC), utc,
        datetime(2026, 11, 24, 13, tzinfo=UTC)
    ]  # fmt: skip

    url = f"/channels/{series_id}/feeds.json"
    feed = client.get(
        url,
        params={"timezone": zone.key, "start": "2026-11-24 07:00:00", "end": "2026-11-24 07:00:00"},
    ).json()
    assert [(e["created_at"], e["field1"]) for e in feed["feeds"]] == [
        ("2026-11-24T07:00:00-05:00", "1")
    ]
    assert feed["channel"]["updated_at"] == "2026-11-24T08:00:00-05:00"
    csv_text = client.get(url.replace(".json", ".csv"),
                          params={"timezone": zone.key, "results": 1}).text  # fmt: skip
    assert csv_text.splitlines()[1].startswith("2026-11-24 08:00:00 -0500,")
    last = client.get(f"/channels/{series_id}/fields/1/last.json", params={"timezone": zone.key})
    assert last.json()["created_at"] == "2026-11-24T08:00:00-05:00"
    # Without timezone: UTC, as before.
    assert client.get(url, params={"results": 1}).json()["feeds"][0]["created_at"] == (
        "2026-11-24T13:00:00Z"
    )


@pytest.mark.parametrize("zone", ["Eastern Time (US & Canada)", "utc", "America", "zone.tab",
                                  "../../etc/passwd", "/etc/localtime"])  # fmt: skip
def test_an_unknown_timezone_is_refused(client: TestClient, series_id: int, zone: str) -> None:
    key = new_key(client, series_id)["key"]
    update = client.get("/update.json", params={"api_key": key, "field1": 1, "timezone": zone})
    assert update.text == "-1" and "IANA" in update.headers["x-timeseries-error"]
    feed = client.get(f"/channels/{series_id}/feeds.json", params={"timezone": zone})
    assert feed.status_code == 400 and "IANA" in feed.json()["error"]["message"]
    assert points(client, series_id) == []


def test_private_reads_make_channels_private_as_on_thingspeak(
    tmp_path: Path, users_path: Path
) -> None:
    """With --private-reads a channel is read with one of its read keys (or the owner's token)."""
    settings = Settings(
        database=f"sqlite:///{tmp_path}/p.sqlite", users=users_path, private_reads=True
    )
    with TestClient(create_app(settings)) as client:
        body = {"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"}
        series_id = client.put("/series/new", json=body).json()
        seconds_entries(client, series_id, 3)
        read_key = new_key(client, series_id, "read")["key"]
        for path in ("feeds.json", "feeds.csv", "feeds/last.json", "fields/1/last"):
            url = f"/channels/{series_id}/{path}"
            assert client.get(url).status_code == 401, path
            assert client.get(url, params={"api_key": read_key}).status_code == 200, path
            assert client.get(url, params={"api_key": ROBIN_TOKEN}).status_code == 200, path
            assert client.get(url, params={"api_key": "nope"}).status_code == 401, path
