"""A server on the open internet: slowloris clients, oversized requests, secrets in logs, a users
file others can read, pages that could be framed."""

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from timeseries_api.api.protocol import MAX_HEADER_BYTES
from timeseries_api.api.security_headers import HTML_HEADERS
from timeseries_api.ingest.json_body import MAX_FIELDS_PER_POINT

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, Server, start_server

TIMEOUT = 1.5  # --request-timeout of the servers below, in seconds


def _connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT * 4)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length body, leaving the connection open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _new_series(url: str) -> int:
    response = httpx.put(
        url + "/series/new",
        json={"token": ROBIN_TOKEN, "device_desc": "d", "device_id": "i"},
    )
    series_id: int = response.json()
    return series_id


def _point_request(series_id: int) -> tuple[bytes, bytes]:
    body = b'{"token": "%s", "series_id": %d, "fields": {"v": 1}}' % (
        ROBIN_TOKEN.encode(),
        series_id,
    )
    head = (
        b"PUT /point/new HTTP/1.1\r\nHost: device\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    return head, body


@pytest.fixture
def impatient_server(tmp_path: Path, database_url: str, users_path: Path) -> Iterator[Server]:
    """A server that gives each request TIMEOUT seconds to arrive."""
    server = start_server(
        tmp_path, database_url, users_path, "--request-timeout", str(TIMEOUT), env=None
    )
    yield server
    server.stop()


def test_slow_clients_are_cut_off_and_fast_ones_still_served(impatient_server: Server) -> None:
    server = impatient_server
    series_id = _new_series(server.url)
    head, body = _point_request(series_id)
    silent = _connect(server)  # connects, sends nothing
    slow_headers = _connect(server)
    slow_body = _connect(server)
    started = time.monotonic()
    slow_body.sendall(head)
    # A byte every third of the deadline to each: every byte is in time, no request is.
    dribbling = {slow_headers: iter(head), slow_body: iter(body)}
    while dribbling:
        readable, _, _ = select.select(list(dribbling), [], [], TIMEOUT / 3)
        for sock in readable:  # the server answered: stop sending
            del dribbling[sock]
        for sock, data in dribbling.items():
            sock.sendall(bytes([next(data)]))
        assert httpx.get(server.url + "/points/count").status_code == 200  # others served
        assert time.monotonic() - started < TIMEOUT * 3
    for sock in (silent, slow_headers, slow_body):
        answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'{"message":"the request did not arrive within 1.5 s' in answer
        sock.close()
    assert time.monotonic() - started < TIMEOUT * 4
    # The cut-off body was not written; a slow client within the deadline is served.
    assert httpx.get(server.url + "/points/count").json() == 0
    patient = _connect(server)
    for byte in head + body:
        patient.sendall(bytes([byte]))
        time.sleep(TIMEOUT / 2 / len(head + body))
    answer = _read_response(patient)
    assert answer.startswith(b"HTTP/1.1 201 "), answer
    patient.close()
    assert httpx.get(server.url + "/points/count").json() == 1


def test_a_keep_alive_connection_gets_a_fresh_deadline_per_request(
    impatient_server: Server,
) -> None:
    server = impatient_server
    head, body = _point_request(_new_series(server.url))
    with _connect(server) as sock:
        for _ in range(3):  # together longer than one deadline, each well within it
            sock.sendall(head)
            time.sleep(TIMEOUT / 2)
            sock.sendall(body)
            assert _read_response(sock).startswith(b"HTTP/1.1 201 ")
    assert httpx.get(server.url + "/points/count").json() == 3


def test_a_huge_declared_body_is_refused_before_it_is_sent(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /point/new HTTP/1.1\r\nHost: device\r\nContent-Length: 1000000000000\r\n\r\n"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b'"message":"the request body is larger than the limit' in answer


def test_oversized_headers_are_refused_and_large_ones_served(server: Server) -> None:
    big = b"X-Cookie: " + b"c" * (MAX_HEADER_BYTES - 200) + b"\r\n"
    with _connect(server) as sock:
        sock.sendall(b"GET /points/count HTTP/1.1\r\nHost: device\r\n" + big + b"\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
    with _connect(server) as sock:
        sock.sendall(b"GET /points/count HTTP/1.1\r\nHost: device\r\nX-Endless: ")
        sent = 0
        while not select.select([sock], [], [], 0)[0]:  # until the server answers
            sock.sendall(b"h" * 8192)
            sent += 8192
            assert sent < 100 * MAX_HEADER_BYTES, "the server kept reading headers"
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    assert b'{"message":"the request line and headers are over' in answer


def test_malformed_http_gets_a_json_message(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"PUT /point/new HTTP/1.1\r\nHost: device\r\nContent-Length: x\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b'{"message":' in answer


def test_too_many_fields_are_refused_on_every_write_endpoint(
    client: TestClient, series_id: int
) -> None:
    fields = {f"f{i}": i for i in range(MAX_FIELDS_PER_POINT + 1)}
    seed = client.put(
        "/point/new", json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": fields}
    )
    assert seed.status_code == 400 and "at most 100" in seed.json()["message"]
    line = "m " + ",".join(f"{k}={v}i" for k, v in fields.items())
    headers = {"Authorization": f"Token {ROBIN_TOKEN}"}
    v2 = client.post("/api/v2/write?bucket=b", content=line, headers=headers)
    assert v2.status_code == 400 and "at most 100" in v2.json()["message"]
    assert client.get("/points/count").json() == 0


def test_tokens_never_reach_the_log(tmp_path: Path, database_url: str, users_path: Path) -> None:
    server = start_server(
        tmp_path, database_url, users_path, "--access-log", "--log-level", "debug", env=None
    )
    try:
        series_id = _new_series(server.url)
        auth = {"Authorization": f"Bearer {ALICE_TOKEN}"}
        for query in (
            f"p={ROBIN_TOKEN}",
            f"u=robin&p={ROBIN_TOKEN}&db=x",
            f"token={ROBIN_TOKEN}",
            f"api_key={ROBIN_TOKEN}",
            f"db=x&P={ROBIN_TOKEN}",
        ):
            httpx.post(f"{server.url}/write?{query}", content=b"m v=1")
            httpx.get(f"{server.url}/series/{series_id}?{query}")
        httpx.put(
            server.url + "/point/new",
            json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": 1}},
        )
        httpx.put(server.url + "/point/new", content=f'{{"token": "{ROBIN_TOKEN}", broken')
        httpx.put(server.url + "/point/new", headers=auth, json={"series_id": series_id})
        httpx.delete(f"{server.url}/series/{series_id}", headers=auth)  # Alice: 403
        httpx.post(f"{server.url}/write?db=x", headers=auth, content=f"m,t={ALICE_TOKEN} v=1")
        # The users file changes to something broken: the reload error names no token.
        users_path.write_text(users_path.read_text().replace('"id": 2', '"id": "two"'))
        time.sleep(1.1)
        httpx.put(server.url + "/series/new", headers=auth, json={"device_desc": "d"})
        server.stop()
        log = server.log.read_text()
        assert "/write?p=***" in log and "api_key=***" in log, "the access log did not run"
        assert "keeping the last good users" in log
        assert ROBIN_TOKEN not in log and ALICE_TOKEN not in log
        for token in (ROBIN_TOKEN, ALICE_TOKEN):
            assert token[:8] not in log and token[-8:] not in log
    finally:
        server.stop()


def test_a_users_file_others_can_read_is_warned_about_at_start(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    private = start_server(tmp_path, database_url, users_path, env=None)
    private.stop()
    assert "readable by other users" not in private.log.read_text()

    users_path.chmod(0o644)
    shared = start_server(tmp_path / "..", database_url, users_path, env=None)
    shared.stop()
    log = shared.log.read_text()
    assert f"warning: {users_path} is readable by other users" in log
    assert f"chmod 600 {users_path}" in log


def test_every_html_page_carries_the_security_headers(client: TestClient) -> None:
    pages = 0
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if "GET" not in getattr(route, "methods", ()) or "{" in path:
            continue
        response = client.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            pages += 1
            for name, value in HTML_HEADERS:
                assert response.headers[name.decode()] == value.decode(), (path, name)
        else:
            assert "x-frame-options" not in response.headers, path
    assert pages >= 1, "expected at least /docs"
