"""Fixtures: users, a database per test on every backend, the app in-process, a real server."""

import functools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from timeseries_api.app import create_app
from timeseries_api.config import Settings

ROBIN_TOKEN = "robin-token-0123456789abcdef"
ALICE_TOKEN = "alice-token-0123456789abcdef"
SEED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

POSTGRES = os.environ.get("TIMESERIES_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@functools.cache
def postgres_unavailable() -> str | None:
    """Why the test PostgreSQL server cannot be used, or None when it can."""
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES} is not reachable: {exc}"
    return None


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A URL for a fresh PostgreSQL schema of the test database, dropped afterwards.

    Skips when the server is absent, except under CI=true, where the PostgreSQL half must run.
    """
    reason = postgres_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def users_path(tmp_path: Path) -> Path:
    """A users file in the seed's format with Robin (id 1) and Alice (id 2)."""
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                ROBIN_TOKEN: {"name": "Robin", "id": 1},
                ALICE_TOKEN: {"name": "Alice", "id": 2},
            }
        )
    )
    path.chmod(0o600)
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_schema")
        return url
    return f"sqlite:///{tmp_path / 'timeseries.sqlite'}"


@pytest.fixture
def settings(database_url: str, users_path: Path) -> Settings:
    return Settings(database=database_url, users=users_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process, through its real HTTP interface."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def series_id(client: TestClient) -> int:
    """A series owned by Robin."""
    response = client.put(
        "/series/new",
        json={"token": ROBIN_TOKEN, "desc": "Tokyo", "device_desc": "ESP32", "device_id": "ab"},
    )
    assert response.status_code == 201, response.text
    value: int = response.json()
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A real ``timeseries-api serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    args: list[str]
    env: dict[str, str]
    log: Path

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=20)

    def restart(self) -> None:
        self.stop()
        self.process = _spawn(self.args, self.env, self.log)
        wait_until_up(self.url, self.process, self.log)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url + "/points/count", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def start_server(
    tmp_path: Path, database_url: str, users_path: Path, *extra: str, env: dict[str, str] | None
) -> Server:
    port = free_port()
    args = [
        sys.executable, "-m", "timeseries_api.cli", "serve",
        "--port", str(port),
        "--database", database_url,
        "--users", str(users_path),
        *extra,
    ]  # fmt: skip
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESERIES_")}
    full_env.update(env or {})
    log = tmp_path / f"server-{port}.log"
    process = _spawn(args, full_env, log)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, process, log)
    return Server(url, process, args, full_env, log)


@pytest.fixture
def server(tmp_path: Path, database_url: str, users_path: Path) -> Iterator[Server]:
    """A real server process on a free loopback port."""
    running = start_server(tmp_path, database_url, users_path, env=None)
    yield running
    running.stop()
