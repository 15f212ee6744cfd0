"""What every benchmark needs: servers started and stopped by PID, wrk runs, medians, Markdown.

Everything binds 127.0.0.1 and every load is bounded in time.
"""

import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "bench-token-0123456789abcdef0123456789"
PYTHON = sys.executable
SERVER_BIN = str(Path(PYTHON).with_name("timeseries-api"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def running(
    args: list[str], probe: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; stop it by its PID."""
    process = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(probe, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:
                pass
    return found


@dataclass
class Ours:
    """Our server on a fresh (or given) database."""

    url: str
    database: str
    pid: int  # with one worker, the process that serves


POSTGRES = os.environ.get("TIMESERIES_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL for a fresh schema of the benchmark PostgreSQL database, dropped afterwards."""
    import psycopg

    schema = f"bench_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """The URL of an empty database of ``backend`` (sqlite or postgresql)."""
    if backend == "postgresql":
        with postgres_schema() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="ts-bench-db-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite'}"


@contextmanager
def ours(workers: int, database: str | None = None, *extra: str) -> Iterator[Ours]:
    """Our server with ``workers`` processes on ``database`` (a URL; default a fresh SQLite)."""
    with tempfile.TemporaryDirectory(prefix="ts-bench-") as tmp:
        users = Path(tmp) / "users.json"
        users.write_text(json.dumps({TOKEN: {"name": "bench", "id": 1}}))
        users.chmod(0o600)
        database = database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        port = free_port()
        args = [
            SERVER_BIN,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--database",
            database,
            "--users",
            str(users),
            "--min-timestamp",
            "1970-01-01",
            "--max-future-seconds",
            "2000000000",
            *extra,
        ]
        url = f"http://127.0.0.1:{port}"
        with running(args, url + "/ping") as process:
            yield Ours(url, database, process.pid)


@contextmanager
def ceiling(workers: int) -> Iterator[tuple[str, int]]:
    """The bare Starlette endpoint, served as ours is (same uvicorn, same worker count, a socket
    per worker): its URL and PID."""
    port = free_port()
    args = [PYTHON, str(BENCH / "ceiling_app.py"), str(port), str(workers)]
    url = f"http://127.0.0.1:{port}"
    with running(args, url + "/point/new") as process:
        yield url, process.pid


@contextmanager
def influxdb() -> Iterator[str]:
    """InfluxDB 1.x from Debian's package, on loopback, in a temporary directory."""
    influxd = shutil.which("influxd")
    if influxd is None:
        raise RuntimeError("influxd not found: run bench/install (Debian's influxdb, 1.6.7)")
    with tempfile.TemporaryDirectory(prefix="ts-bench-influx-") as tmp:
        port, bind = free_port(), free_port()
        config = Path(tmp) / "influxdb.conf"
        config.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{bind}"\n'
            f'[meta]\n  dir = "{tmp}/meta"\n'
            f'[data]\n  dir = "{tmp}/data"\n  wal-dir = "{tmp}/wal"\n  query-log-enabled = false\n'
            f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
            f"[monitor]\n  store-enabled = false\n"
        )
        url = f"http://127.0.0.1:{port}"
        with running([influxd, "-config", str(config)], url + "/ping"):
            httpx.post(url + "/query", params={"q": "CREATE DATABASE bench"}).raise_for_status()
            yield url


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    completed: int
    errors: int


def wrk(
    url: str, script: str, *, connections: int, seconds: int, env: dict[str, str], threads: int = 2
) -> WrkResult:
    """Run wrk with a Lua script from bench/wrk/ and parse what it prints."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(BENCH / "wrk" / script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else 0.0

    def millis(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if not match:
            return 0.0
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    errors = int(number(r"Non-2xx or 3xx responses: (\d+)"))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(
        requests_per_s=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=millis("50%"),
        p99_ms=millis("99%"),
        completed=int(number(r"(\d+) requests in")),
        errors=errors,
    )


def single_points(url: str, series_id: int, seconds: int) -> WrkResult:
    """The single-point scenario: 32 connections sending PUT /point/new, one point each."""
    return wrk(
        url + "/point/new",
        "put_point.lua",
        connections=32,
        seconds=seconds,
        env={"TOKEN": TOKEN, "SERIES_ID": str(series_id)},
    )


def check_stored(result: WrkResult, stored: int, per_request: int) -> None:
    """Exit with FAILED when a request failed or an acknowledged point is not stored (more may
    be stored: requests in flight when wrk stopped)."""
    acknowledged = (result.completed - result.errors) * per_request
    if result.errors:
        sys.exit(f"FAILED: {result.errors} requests failed or timed out")
    if stored < acknowledged:
        sys.exit(f"FAILED: {stored} points stored but {acknowledged} acknowledged")


def create_series(url: str, token: str = TOKEN) -> int:
    response = httpx.put(
        url + "/series/new", json={"token": token, "device_desc": "bench", "device_id": "bench"}
    )
    response.raise_for_status()
    series_id: int = response.json()
    return series_id


def point_count(url: str) -> int:
    count: int = httpx.get(url + "/points/count", timeout=60).json()
    return count


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine() -> str:
    """One line about the machine the figures come from."""
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.machine()}"
    )


def record(title: str, command: str, table: str) -> None:
    """Append a dated section to docs/benchmarks.md."""
    path = ROOT / "docs" / "benchmarks.md"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = f"\n## {title} ({stamp})\n\n`{command}` on {machine()}.\n\n{table}\n"
    with path.open("a") as f:
        f.write(section)
    print(f"recorded in {path}")
