"""InfluxDB's write API, driven by its own unmodified client libraries and by raw requests."""

import gzip
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from influxdb import InfluxDBClient
from influxdb_client import InfluxDBClient as InfluxDB2Client
from influxdb_client import Point, WriteOptions
from influxdb_client.client.write_api import SYNCHRONOUS

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, Server

T = ROBIN_TOKEN
V2 = {"Authorization": f"Token {T}"}


def series_by_name(url_or_client: Any) -> dict[str, dict[str, Any]]:
    listing = url_or_client.get("/series").json()
    return {entry["desc"]: entry for entry in listing.values()}


def points(client: Any, series_id: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.get(f"/series/{series_id}").json()
    return result


def iso(ns: int) -> str:
    return (
        datetime.fromtimestamp(ns // 10**9, UTC)
        .replace(microsecond=(ns // 1000) % 10**6)
        .isoformat(timespec="microseconds")
    )


# -- the official 2.x client ----------------------------------------------------------------------


def test_influxdb_client_synchronous_with_gzip(server: Server) -> None:
    stamps = [1763971200_123456789 + i * 10**9 for i in range(3)]
    with InfluxDB2Client(url=server.url, token=T, org="home", enable_gzip=True) as influx:
        write = influx.write_api(write_options=SYNCHRONOUS)
        write.write(
            bucket="iot",
            record=[
                Point("weather").tag("room", "attic").field("temp_C", 20.5 + i)
                .field("ok", True).field("n", i).time(ns)
                for i, ns in enumerate(stamps)
            ],
        )  # fmt: skip
        assert influx.ping()
    with httpx.Client(base_url=server.url) as http:
        entry = series_by_name(http)["weather,room=attic"]
        assert entry["measurement"] == "weather"
        assert entry["tags"] == {"room": "attic"} and entry["bucket"] == "iot"
        assert entry["count"] == 3 and entry["user"] == "Robin"
        stored = points(http, entry["id"])
    assert [p["fields"] for p in stored] == [
        {"temp_C": 20.5 + i, "ok": True, "n": i} for i in range(3)
    ]
    assert [p["timestamp"] for p in stored] == [iso(ns) for ns in stamps]


def test_influxdb_client_batching_mode_flushes_everything(server: Server) -> None:
    options = WriteOptions(batch_size=100, flush_interval=100)
    with InfluxDB2Client(url=server.url, token=T, org="home") as influx:
        with influx.write_api(write_options=options) as write:
            for i in range(250):
                write.write(
                    bucket="fleet",
                    record=f"power,device=esp{i % 5} watts={i}i {1763971200 + i}",
                    write_precision="s",
                )
    with httpx.Client(base_url=server.url) as http:
        by_name = series_by_name(http)
        assert sorted(by_name) == [f"power,device=esp{d}" for d in range(5)]
        assert by_name["power,device=esp3"]["device_id"] == "esp3"
        watts = sorted(
            p["fields"]["watts"] for e in by_name.values() for p in points(http, e["id"])
        )
    assert watts == list(range(250))


# -- the 1.x client -------------------------------------------------------------------------------


def test_influxdb_1x_client_writes_with_user_and_password(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    client = InfluxDBClient(host="127.0.0.1", port=port, username="robin", password=T,
                            database="home")  # fmt: skip
    assert client.ping() == "1.8.10"
    assert client.write_points(
        [
            {"measurement": "cpu", "tags": {"host": "pi"}, "time": 1763971200000,
             "fields": {"load": 0.5, "procs": 12, "state": "ok"}},
            {"measurement": "cpu", "tags": {"host": "pi"}, "time": 1763971260000,
             "fields": {"load": 0.75, "procs": 13, "state": "busy"}},
        ],
        time_precision="ms",
    )  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        entry = series_by_name(http)["cpu,host=pi"]
        stored = points(http, entry["id"])
    assert entry["bucket"] == "home"
    assert [p["fields"] for p in stored] == [
        {"load": 0.5, "procs": 12, "state": "ok"},
        {"load": 0.75, "procs": 13, "state": "busy"},
    ]
    assert [p["timestamp"] for p in stored] == [
        "2025-11-24T08:00:00.000000+00:00",
        "2025-11-24T08:01:00.000000+00:00",
    ]


def test_influxdb_1x_client_with_a_wrong_password_is_refused(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    client = InfluxDBClient(host="127.0.0.1", port=port, username="x", password="wrong",
                            database="home")  # fmt: skip
    with pytest.raises(Exception, match="authorization failed"):
        client.write_points([{"measurement": "m", "fields": {"v": 1}}])


# -- 1.x over raw HTTP ----------------------------------------------------------------------------


def test_ping_and_health_answer_like_influxdb(client: TestClient) -> None:
    ping = client.get("/ping")
    assert ping.status_code == 204 and ping.headers["x-influxdb-version"] == "1.8.10"
    assert client.head("/ping").status_code == 204
    verbose = client.get("/ping", params={"verbose": "true"})
    assert verbose.status_code == 200 and verbose.json() == {"version": "1.8.10"}
    health = client.get("/health").json()
    assert health["status"] == "pass" and health["name"] == "influxdb"


@pytest.mark.parametrize(
    ("auth", "params"),
    [
        ({"Authorization": f"Token {T}"}, {}),
        ({"Authorization": f"Bearer {T}"}, {}),
        ({}, {"u": "robin", "p": T}),
    ],
)
def test_v1_credentials_in_every_form(
    client: TestClient, auth: dict[str, str], params: dict[str, str]
) -> None:
    response = client.post("/write", params={"db": "home", **params}, headers=auth,
                           content=b"m v=1")  # fmt: skip
    assert response.status_code == 204, response.text


def test_v1_basic_auth_password_is_the_token(client: TestClient) -> None:
    response = client.post("/write", params={"db": "home"}, auth=("robin", T), content=b"m v=1")
    assert response.status_code == 204


def test_v1_errors_are_influxdb_shaped(client: TestClient) -> None:
    missing = client.post("/write", params={"db": "home"}, content=b"m v=1")
    assert missing.status_code == 401
    assert missing.json() == {"error": "unable to parse authentication credentials"}
    assert missing.headers["www-authenticate"] == 'Basic realm="InfluxDB"'
    assert missing.headers["x-influxdb-error"] == "unable to parse authentication credentials"
    wrong = client.post("/write", params={"db": "home", "p": "nope"}, content=b"m v=1")
    assert wrong.status_code == 401 and wrong.json() == {"error": "authorization failed"}
    no_db = client.post("/write", params={"p": T}, content=b"m v=1")
    assert no_db.status_code == 400 and no_db.json() == {"error": "database is required"}
    bad_precision = client.post("/write", params={"db": "h", "p": T, "precision": "d"},
                                content=b"m v=1")  # fmt: skip
    assert bad_precision.status_code == 400 and "precision" in bad_precision.json()["error"]


def test_v1_partial_write_keeps_the_good_lines(client: TestClient) -> None:
    body = b"m,s=a v=1 1763971200\nm,s=a v= 1763971201\nm,s=a v=3 1763971202\nm,s=a v=1 0\n"
    response = client.post("/write", params={"db": "h", "p": T, "precision": "s"}, content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("partial write: unable to parse 'm,s=a v= 1763971201'")
    assert error.endswith("dropped=2")  # the bad line and the 1970 one
    entry = series_by_name(client)["m,s=a"]
    assert [p["fields"]["v"] for p in points(client, entry["id"])] == [1.0, 3.0]


@pytest.mark.parametrize(
    ("precision", "value", "expected"),
    [
        ("n", 1763971200123456789, "2025-11-24T08:00:00.123456+00:00"),
        ("ns", 1763971200123456789, "2025-11-24T08:00:00.123456+00:00"),
        ("u", 1763971200123456, "2025-11-24T08:00:00.123456+00:00"),
        ("us", 1763971200123456, "2025-11-24T08:00:00.123456+00:00"),
        ("ms", 1763971200123, "2025-11-24T08:00:00.123000+00:00"),
        ("s", 1763971200, "2025-11-24T08:00:00.000000+00:00"),
        ("m", 29399520, "2025-11-24T08:00:00.000000+00:00"),
        ("h", 489992, "2025-11-24T08:00:00.000000+00:00"),
    ],
)
def test_v1_every_precision(client: TestClient, precision: str, value: int, expected: str) -> None:
    response = client.post("/write", params={"db": "h", "p": T, "precision": precision},
                           content=f"m v=1 {value}".encode())  # fmt: skip
    assert response.status_code == 204, response.text
    entry = series_by_name(client)["m"]
    assert points(client, entry["id"])[0]["timestamp"] == expected


def test_lines_without_a_timestamp_are_stamped_by_the_server(client: TestClient) -> None:
    before = datetime.now(UTC)
    client.post("/write", params={"db": "h", "p": T}, content=b"m v=1")
    stamp = datetime.fromisoformat(
        points(client, series_by_name(client)["m"]["id"])[0]["timestamp"]
    )
    assert before <= stamp <= datetime.now(UTC)


# -- 2.x over raw HTTP ----------------------------------------------------------------------------


def test_v2_one_bad_line_rejects_the_body(client: TestClient) -> None:
    body = b"m v=1 1763971200\nm v=oops 1763971201\n"
    response = client.post("/api/v2/write", params={"bucket": "b", "precision": "s"},
                           headers=V2, content=body)  # fmt: skip
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "m v=oops" in response.json()["message"]
    assert client.get("/points/count").json() == 0


def test_v2_errors_are_influxdb_shaped(client: TestClient) -> None:
    missing = client.post("/api/v2/write", params={"bucket": "b"}, content=b"m v=1")
    assert missing.status_code == 401 and missing.json()["code"] == "unauthorized"
    no_bucket = client.post("/api/v2/write", headers=V2, content=b"m v=1")
    assert no_bucket.status_code == 400
    assert no_bucket.json() == {"code": "invalid", "message": "bucket is required"}
    bad_precision = client.post("/api/v2/write", params={"bucket": "b", "precision": "m"},
                                headers=V2, content=b"m v=1")  # fmt: skip
    assert bad_precision.status_code == 400


def test_the_whole_grammar_through_http(client: TestClient) -> None:
    body = (
        b"# a comment, then a blank line\n\n"
        b"wea\\,ther\\ now,loc\\=ation=us\\ west,a=1 "
        b"temp=-1.5E1,count=3i,big=18446744073709551615u,on=T,off=FALSE,"
        b'note="said \\"hi\\"\\\\ then\nleft",e\\=q=1 1763971200\r\n'
    )
    response = client.post("/api/v2/write", params={"bucket": "b", "precision": "s"},
                           headers=V2, content=body)  # fmt: skip
    assert response.status_code == 400  # big: an unsigned beyond int64 is refused by our limits
    body = body.replace(b"big=18446744073709551615u,", b"big=9223372036854775807u,")
    response = client.post("/api/v2/write", params={"bucket": "b", "precision": "s"},
                           headers=V2, content=body)  # fmt: skip
    assert response.status_code == 204, response.text
    entry = series_by_name(client)["wea,ther now,a=1,loc=ation=us west"]
    assert entry["measurement"] == "wea,ther now"
    assert entry["tags"] == {"loc=ation": "us west", "a": "1"}
    assert points(client, entry["id"])[0]["fields"] == {
        "temp": -15.0, "count": 3, "big": 9223372036854775807, "on": True, "off": False,
        "note": 'said "hi"\\ then\nleft', "e=q": 1.0,
    }  # fmt: skip


def test_gzip_bodies_and_their_failures(client: TestClient) -> None:
    params = {"bucket": "b", "precision": "s"}
    good = client.post("/api/v2/write", params=params, content=gzip.compress(b"m v=1 1763971200"),
                       headers={**V2, "Content-Encoding": "gzip"})  # fmt: skip
    assert good.status_code == 204
    broken = client.post("/api/v2/write", params=params, content=b"not gzip at all",
                         headers={**V2, "Content-Encoding": "gzip"})  # fmt: skip
    assert broken.status_code == 400 and "gzip" in broken.json()["message"]
    limit = client.app.state.context.settings.max_body_bytes  # type: ignore[attr-defined]
    bomb = gzip.compress(b"#" * (limit * 11))
    refused = client.post("/api/v2/write", params=params, content=bomb,
                          headers={**V2, "Content-Encoding": "gzip"})  # fmt: skip
    assert refused.status_code == 413
    assert client.get("/points/count").json() == 1


# -- how line protocol and seed series meet -------------------------------------------------------


def test_a_series_id_tag_writes_into_an_existing_seed_series(
    client: TestClient, series_id: int
) -> None:
    body = f"anything,series_id={series_id} temp_C=21.5 1763971200".encode()
    response = client.post("/api/v2/write", params={"bucket": "b", "precision": "s"},
                           headers=V2, content=body)  # fmt: skip
    assert response.status_code == 204
    assert [p["fields"] for p in points(client, series_id)] == [{"temp_C": 21.5}]
    assert len(client.get("/series").json()) == 1  # no new series


def test_a_series_id_tag_cannot_reach_another_users_series(
    client: TestClient, series_id: int
) -> None:
    body = f"m,series_id={series_id} v=1".encode()
    alice = {"Authorization": f"Token {ALICE_TOKEN}"}
    response = client.post("/api/v2/write", params={"bucket": "b"}, headers=alice, content=body)
    assert response.status_code == 403
    assert client.get("/points/count").json() == 0


def test_each_user_gets_their_own_series_for_the_same_key(client: TestClient) -> None:
    for token in (T, ALICE_TOKEN, T):
        client.post("/api/v2/write", params={"bucket": "b"}, content=b"cpu,host=a v=1",
                    headers={"Authorization": f"Token {token}"})  # fmt: skip
    listing = client.get("/series").json()
    assert sorted((e["user"], e["count"]) for e in listing.values()) == [("Alice", 1), ("Robin", 2)]


def test_a_deleted_line_protocol_series_is_created_again(client: TestClient) -> None:
    client.post("/api/v2/write", params={"bucket": "b"}, headers=V2, content=b"m v=1")
    first = series_by_name(client)["m"]["id"]
    client.request("DELETE", f"/series/{first}", headers={"Authorization": f"Bearer {T}"})
    response = client.post("/api/v2/write", params={"bucket": "b"}, headers=V2, content=b"m v=2")
    assert response.status_code == 204
    again = series_by_name(client)["m"]
    assert again["id"] != first and again["count"] == 1


def test_seed_api_reads_and_writes_line_protocol_series(client: TestClient) -> None:
    client.post("/api/v2/write", params={"bucket": "b"}, headers=V2, content=b"m v=1")
    sid = series_by_name(client)["m"]["id"]
    response = client.put("/point/new", json={"token": T, "series_id": sid, "fields": {"v": 2}})
    assert response.status_code == 201
    assert [p["fields"]["v"] for p in points(client, sid)] == [1.0, 2]
