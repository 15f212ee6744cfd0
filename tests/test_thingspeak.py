"""ThingSpeak-compatible endpoints, driven by requests shaped byte for byte like those of the
ThingSpeak Arduino library (over a raw socket, to a real server) and by the examples of
ThingSpeak's documentation; replies are read the way that library reads them."""

import re
import socket
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, Server
from .test_keys import ROBIN, new_key, new_series, points

USER_AGENT = "tslib-arduino/2.0.1 (ESP32)"


# -- the Arduino library's side of the wire --------------------------------------------------------


def library_write(api_key: str, post_message: str) -> bytes:
    """What ThingSpeak.writeRaw() sends: the key in a header, the fields as a form body."""
    body = post_message + "&headers=false"
    return (
        "POST /update HTTP/1.1\r\n"
        "Host: api.thingspeak.com\r\n"
        "Connection: close\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        f"X-THINGSPEAKAPIKEY: {api_key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def library_read(channel: int, suffix: str, api_key: str | None) -> bytes:
    """What ThingSpeak.readRaw() sends."""
    key = f"X-THINGSPEAKAPIKEY: {api_key}\r\n" if api_key else ""
    return (
        f"GET /channels/{channel}{suffix} HTTP/1.1\r\n"
        "Host: api.thingspeak.com\r\n"
        "Connection: close\r\n"
        f"User-Agent: {USER_AGENT}\r\n{key}\r\n"
    ).encode()


def exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def library_response(raw: bytes) -> tuple[int, str]:
    """getHTTPResponse(): find "HTTP/1.1", parse the status, skip to after "\\n\\r\\n", and
    take the rest of the stream as the body (so the body must not be chunked)."""
    text = raw.decode()
    after = text.index("HTTP/1.1") + len("HTTP/1.1")
    status = arduino_to_int(text[after:])
    end_of_status = text.index("\r\n", after)
    return status, text[text.index("\n\r\n", end_of_status) + 3 :]


def arduino_to_int(text: str) -> int:
    """Arduino's String.toInt(): leading digits, 0 when there are none."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match[1]) if match else 0


def json_value_by_key(text: str, key: str) -> str:
    """The library's getJSONValueByKey(): the text between "key":" and the next quote."""
    start = text.find(f'"{key}":"')
    if start == -1:
        return ""
    start += len(key) + 4
    return text[start : text.index('"', start)]


def headers_of(raw: bytes) -> dict[str, str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}


# -- writes ----------------------------------------------------------------------------------------


def test_the_arduino_library_writes_and_reads_back(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        channel = new_series(http)
        write_key = new_key(http, channel)["key"]
        read_key = new_key(http, channel, kind="read")["key"]

        # writeFields() after setField(1, 21.5f), setField(2, 40), setStatus("balcony ok")
        raw = exchange(
            server.url,
            library_write(write_key, "field1=21.50000&field2=40&status=balcony ok"),
        )
        headers = headers_of(raw)
        assert int(headers["content-length"]) == len(raw.split(b"\r\n\r\n", 1)[1])
        assert "transfer-encoding" not in headers
        status, body = library_response(raw)
        assert status == 200
        entry_id = arduino_to_int(body)
        assert entry_id > 0 and body == str(entry_id)

        stored = http.get(f"/point/{entry_id}").json()
        assert stored["series_id"] == channel
        assert stored["fields"] == {"field1": 21.5, "field2": 40, "status": "balcony ok"}

    # readFloatField(channel, 1, readKey)
    status, body = library_response(
        exchange(server.url, library_read(channel, "/fields/1/last", read_key))
    )
    assert status == 200 and float(body) == 21.5
    # readStatus(channel, readKey) and readCreatedAt(channel, readKey)
    _, body = library_response(
        exchange(server.url, library_read(channel, "/feeds/last.txt?status=true", read_key))
    )
    assert json_value_by_key(body, "status") == "balcony ok"
    created = datetime.strptime(json_value_by_key(body, "created_at"), "%Y-%m-%dT%H:%M:%S%z")
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_refused_write_answers_0_which_the_library_reports_as_not_inserted(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.url) as http:
        channel = new_series(http)
        read_key = new_key(http, channel, kind="read")["key"]
        revoked = new_key(http, channel)
        http.delete(f"/series/{channel}/keys/{revoked['id']}", headers=ROBIN)
        for key in ("WRONGKEY1234ABCD", read_key, revoked["key"]):
            raw = exchange(server.url, library_write(key, "field1=1.00000"))
            assert library_response(raw) == (200, "0")
            assert "content-length" in headers_of(raw)
        assert points(http, channel) == []


def test_update_as_in_thingspeaks_documentation(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)["key"]
    # GET https://api.thingspeak.com/update?api_key=XXXXXXXXXXXXXXXX&field1=73
    first = client.get(f"/update?api_key={key}&field1=73")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
    # No 15-second rule: the next update right away is accepted too.
    second = client.post("/update", data={"api_key": key, "field1": "74"})
    assert int(second.text) > int(first.text) > 0
    as_json = client.post(
        "/update.json", json={"api_key": key, "field1": 75, "field2": "windy", "status": "ok"}
    )
    entry = as_json.json()
    assert entry["channel_id"] == series_id and entry["entry_id"] > int(second.text)
    assert (entry["field1"], entry["field2"], entry["status"]) == ("75", "windy", "ok")
    assert entry["latitude"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["created_at"])
    assert [p["fields"] for p in points(client, series_id)] == [
        {"field1": 73},
        {"field1": 74},
        {"field1": 75, "field2": "windy", "status": "ok"},
    ]
    refused = client.get("/update.json?api_key=nope&field1=1")
    assert refused.text == "-1" and "x-timeseries-error" in refused.headers


def test_the_key_may_come_in_the_query_body_or_either_header(
    client: TestClient, series_id: int
) -> None:
    key = new_key(client, series_id)["key"]
    assert client.get(f"/update?api_key={key}&field1=1").text != "0"
    assert client.post("/update", content=f"api_key={key}&field1=2").text != "0"
    for header in ("X-THINGSPEAKAPIKEY", "THINGSPEAKAPIKEY"):
        assert client.get("/update?field1=3", headers={header: key}).text != "0"
    assert len(points(client, series_id)) == 4


def test_created_at_status_and_location(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)["key"]
    response = client.post(
        "/update",
        data={"api_key": key, "field1": "9", "created_at": "2026-11-24 07:00:00 -0500",
              "lat": "35.68", "long": "139.69", "elevation": "40"},
    )  # fmt: skip
    (point,) = points(client, series_id)
    assert point["id"] == int(response.text)
    assert point["timestamp"] == "2026-11-24T12:00:00.000000+00:00"
    assert point["fields"] == {"field1": 9, "latitude": 35.68, "longitude": 139.69,
                               "elevation": 40}  # fmt: skip
    feed = client.get(f"/channels/{series_id}/feeds.json?location=true").json()["feeds"]
    assert feed == [{"created_at": "2026-11-24T12:00:00Z", "entry_id": point["id"],
                     "field1": "9", "latitude": "35.68", "longitude": "139.69",
                     "elevation": "40"}]  # fmt: skip
    # "+09:00" sent unencoded in a form body arrives as " 09:00"
    plus = client.post(
        "/update", content=f"api_key={key}&field1=10&created_at=2026-11-24T21:00:00+09:00"
    )
    assert client.get(f"/point/{plus.text}").json()["timestamp"] == (
        "2026-11-24T12:00:00.000000+00:00"
    )
    client.delete(f"/point/{plus.text}", headers=ROBIN)
    bad = client.get(f"/update?api_key={key}&field1=1&lat=north")
    assert bad.text == "0" and "lat must be a number" in bad.headers["x-timeseries-error"]
    too_old = client.get(f"/update?api_key={key}&field1=1&created_at=1970-01-01")
    assert too_old.text == "0"
    assert len(points(client, series_id)) == 1


def test_a_user_token_writes_with_channel_id(client: TestClient, series_id: int) -> None:
    ok = client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field1=1")
    assert int(ok.text) > 0
    assert client.get(f"/update?api_key={ROBIN_TOKEN}&field1=1").text == "0"
    assert client.get(f"/update?api_key={ALICE_TOKEN}&channel_id={series_id}&field1=1").text == "0"
    key = new_key(client, series_id)["key"]
    other = new_series(client)
    assert client.get(f"/update?api_key={key}&channel_id={other}&field1=1").text == "0"
    assert len(points(client, series_id)) == 1 and points(client, other) == []


# -- field names -----------------------------------------------------------------------------------


def test_named_fields_read_the_same_through_every_api(client: TestClient, series_id: int) -> None:
    names = client.put(
        f"/series/{series_id}/thingspeak-fields",
        headers=ROBIN,
        json={"fields": {"field1": "temp_C", "2": "hum_pct"}},
    )
    assert names.json() == {"field1": "temp_C", "field2": "hum_pct"}
    assert client.get(f"/series/{series_id}/thingspeak-fields").json() == names.json()
    key = new_key(client, series_id)["key"]
    # No 8-field cap: field12 is kept (as field12, since it has no name).
    entry_id = int(client.get(f"/update?api_key={key}&field1=21.5&field2=40&field12=7").text)
    assert client.get(f"/point/{entry_id}").json()["fields"] == {
        "temp_C": 21.5, "hum_pct": 40, "field12": 7
    }  # fmt: skip
    client.put("/point/new", json={"token": ROBIN_TOKEN, "series_id": series_id,
                                   "fields": {"temp_C": 22.0}})  # fmt: skip
    feed = client.get(f"/channels/{series_id}/feeds.json").json()
    channel = feed["channel"]
    assert (channel["field1"], channel["field2"], channel["field12"]) == (
        "temp_C", "hum_pct", "field12"
    )  # fmt: skip
    assert [(e["field1"], e["field2"], e["field12"]) for e in feed["feeds"]] == [
        ("21.5", "40", "7"), ("22.0", None, None)
    ]  # fmt: skip
    assert client.get(f"/channels/{series_id}/fields/1/last").text == "22.0"
    assert client.get(f"/channels/{series_id}/fields/2/last.txt").text == ""


@pytest.mark.parametrize(
    "fields",
    [{"field1": "status"}, {"field1": "field2"}, {"field1": "a", "field2": "a"}, {"f1": "x"},
     {"field0": "x"}, {"field1": 5}, "temp_C"],
)  # fmt: skip
def test_bad_field_names_are_refused(client: TestClient, series_id: int, fields: Any) -> None:
    response = client.put(
        f"/series/{series_id}/thingspeak-fields", headers=ROBIN, json={"fields": fields}
    )
    assert response.status_code == 400 and "message" in response.json()
    assert client.get(f"/series/{series_id}/thingspeak-fields").json() == {}


def test_only_the_owner_names_fields(client: TestClient, series_id: int) -> None:
    body = {"fields": {"field1": "temp_C"}}
    alice = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    path = f"/series/{series_id}/thingspeak-fields"
    assert client.put(path, headers=alice, json=body).status_code == 403
    assert client.put(path, json=body).status_code == 401
    assert client.put("/series/99/thingspeak-fields", headers=ROBIN, json=body).status_code == 404


# -- bulk writes -----------------------------------------------------------------------------------


def test_bulk_update_with_delta_t_and_created_at(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)["key"]
    before = datetime.now(UTC)
    response = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": key, "updates": [
            {"delta_t": 0, "field1": -70}, {"delta_t": 3, "field1": -66},
            {"delta_t": "5", "field1": "-60"},
        ]},
    )  # fmt: skip
    assert response.status_code == 202 and response.json() == {"success": True}
    stored = points(client, series_id)
    times = [datetime.fromisoformat(p["timestamp"]) for p in stored]
    assert [p["fields"]["field1"] for p in stored] == [-70, -66, -60]
    assert times[1] - times[0] == timedelta(seconds=3)
    assert times[2] - times[1] == timedelta(seconds=5)
    assert before - timedelta(seconds=1) <= times[2] <= datetime.now(UTC)

    absolute = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": key, "updates": [
            {"created_at": "2026-11-25 10:00:00", "field1": 1},
            {"created_at": "2026-11-25T10:01:00Z", "field1": 2},
            {"created_at": int(datetime(2026, 11, 25, 10, 2, tzinfo=UTC).timestamp()), "field2": 3},
        ]},
    )  # fmt: skip
    assert absolute.status_code == 202
    stamps = [p["timestamp"] for p in points(client, series_id)][:3]
    assert stamps == ["2026-11-25T10:00:00.000000+00:00", "2026-11-25T10:01:00.000000+00:00",
                      "2026-11-25T10:02:00.000000+00:00"]  # fmt: skip


def test_bulk_update_refusals_write_nothing(client: TestClient, series_id: int) -> None:
    key = new_key(client, series_id)["key"]
    other = new_series(client)
    url = f"/channels/{series_id}/bulk_update.json"
    good = [{"delta_t": 0, "field1": 1}]
    cases = [
        (url, {"write_api_key": "nope", "updates": good}, 401, "error_auth_required"),
        (f"/channels/{other}/bulk_update.json", {"write_api_key": key, "updates": good}, 403,
         "error_auth_required"),
        (url, {"write_api_key": key, "updates": [*good, {"field1": 2}]}, 400, "error_bad_request"),
        (url, {"write_api_key": key, "updates": []}, 400, "error_bad_request"),
        ("/channels/99/bulk_update.json", {"write_api_key": ROBIN_TOKEN, "updates": good}, 404,
         "error_resource_not_found"),
    ]  # fmt: skip
    for path, body, status, code in cases:
        response = client.post(path, json=body)
        assert response.status_code == status, response.text
        assert response.json()["status"] == str(status)
        assert response.json()["error"]["error_code"] == code
    assert points(client, series_id) == [] and points(client, other) == []


# -- feeds -----------------------------------------------------------------------------------------

START = datetime(2026, 11, 25, tzinfo=UTC)


def minute_entries(client: TestClient, series_id: int, count: int) -> list[float]:
    """``count`` entries one minute apart from START; field1 varies, field2 is text."""
    values = [round(20 + (i * 7 % 13) / 3, 3) for i in range(count)]
    updates = [
        {"created_at": (START + timedelta(minutes=i)).isoformat(), "field1": v, "field2": "x"}
        for i, v in enumerate(values)
    ]
    response = client.post(
        f"/channels/{series_id}/bulk_update.json",
        json={"write_api_key": ROBIN_TOKEN, "updates": updates},
    )
    assert response.status_code == 202, response.text
    return values


def test_feeds_select_by_results_and_time_without_a_cap(client: TestClient, series_id: int) -> None:
    values = minute_entries(client, series_id, 150)
    url = f"/channels/{series_id}/feeds.json"
    default = client.get(url).json()["feeds"]
    assert [float(e["field1"]) for e in default] == values[-100:]  # ThingSpeak's default 100
    assert len(client.get(url + "?results=120").json()["feeds"]) == 120
    ranged = client.get(url, params={"start": "2026-11-25 00:10:00", "end": "2026-11-25 00:29:00"})
    assert [float(e["field1"]) for e in ranged.json()["feeds"]] == values[10:30]
    everything = client.get(url, params={"start": "2026-11-24 00:00:00"}).json()
    assert len(everything["feeds"]) == 150
    ids = [p["id"] for p in points(client, series_id)]
    assert everything["channel"]["last_entry_id"] == ids[-1]
    assert [e["entry_id"] for e in everything["feeds"]] == ids

    csv = client.get(f"/channels/{series_id}/feeds.csv?results=2")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "created_at,entry_id,field1,field2",
        f"2026-11-25 02:28:00 UTC,{ids[-2]},{values[-2]},x",
        f"2026-11-25 02:29:00 UTC,{ids[-1]},{values[-1]},x",
    ]


@pytest.mark.parametrize("how", ["average", "median", "sum", "timescale"])
@pytest.mark.parametrize("period", ["10", "60", "daily"])
def test_aggregates_per_period(client: TestClient, series_id: int, how: str, period: str) -> None:
    values = minute_entries(client, series_id, 150)
    minutes = 1440 if period == "daily" else int(period)
    expected: dict[datetime, list[float]] = {}
    for i, value in enumerate(values):
        at = START + timedelta(minutes=i)
        bucket = at - timedelta(minutes=(at.hour * 60 + at.minute) % minutes)
        expected.setdefault(bucket, []).append(value)
    combine = {"average": statistics.fmean, "median": statistics.median, "sum": sum,
               "timescale": lambda vs: vs[0]}[how]  # fmt: skip

    feed = client.get(
        f"/channels/{series_id}/feeds.json", params={"results": 1000, how: period}
    ).json()["feeds"]

    assert [e["created_at"] for e in feed] == [b.strftime("%Y-%m-%dT%H:%M:%SZ") for b in expected]
    assert [float(e["field1"]) for e in feed] == pytest.approx(
        [combine(vs) for vs in expected.values()]
    )
    if how != "timescale":  # text is not combined
        assert {e["field2"] for e in feed} == {None}


def test_bad_feed_parameters(client: TestClient, series_id: int) -> None:
    url = f"/channels/{series_id}/feeds.json"
    for params in ({"average": "7"}, {"results": "-1"}, {"start": "yesterday"}):
        response = client.get(url, params=params)
        assert response.status_code == 400
        assert response.json()["error"]["error_code"] == "error_bad_request"


# -- reads and keys --------------------------------------------------------------------------------


def test_read_keys_and_refusals_on_reads(client: TestClient, series_id: int) -> None:
    client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field1=5")
    read_key = new_key(client, series_id, kind="read")
    write_key = new_key(client, series_id)["key"]
    other_read_key = new_key(client, new_series(client), kind="read")["key"]
    url = f"/channels/{series_id}/feeds.json"
    assert client.get(url, params={"api_key": read_key["key"]}).status_code == 200
    assert client.get(url, headers={"X-THINGSPEAKAPIKEY": read_key["key"]}).status_code == 200
    assert client.get(url, params={"api_key": ROBIN_TOKEN}).status_code == 200
    assert client.get(url).status_code == 200  # reads are public unless private reads are on
    for key, status in ((write_key, 403), (other_read_key, 403), (ALICE_TOKEN, 403),
                        ("nope", 401)):  # fmt: skip
        response = client.get(url, params={"api_key": key})
        assert response.status_code == status, key
        assert response.json()["error"]["error_code"] == "error_auth_required"
        last = client.get(f"/channels/{series_id}/fields/1/last", params={"api_key": key})
        assert (last.status_code, last.text) == (status, "error_auth_required")
    client.delete(f"/series/{series_id}/keys/{read_key['id']}", headers=ROBIN)
    assert client.get(url, params={"api_key": read_key["key"]}).status_code == 401


def test_last_entries_of_empty_and_missing_channels(client: TestClient, series_id: int) -> None:
    for path in ("feeds/last.json", "fields/1/last.json"):
        empty = client.get(f"/channels/{series_id}/{path}")
        assert empty.status_code == 404
        assert empty.json()["error"]["error_code"] == "error_resource_not_found"
        assert client.get(f"/channels/99/{path}").status_code == 404
    text = client.get(f"/channels/{series_id}/fields/1/last")
    assert (text.status_code, text.text) == (404, "error_resource_not_found")
    client.get(f"/update?api_key={ROBIN_TOKEN}&channel_id={series_id}&field3=1.25")
    last = client.get(f"/channels/{series_id}/fields/3/last.json").json()
    assert last["field3"] == "1.25" and set(last) == {"created_at", "entry_id", "field3"}
    assert client.get(f"/channels/{series_id}/feeds/last.json").json()["field3"] == "1.25"
