"""Where the CPU goes during single-point writes: our server processes, PostgreSQL, wrk.

Runs the single-point scenario of ingest.py (32 connections, PUT /point/new) with 1 and 2
workers and sums user + system time over the run: of the server processes (from /proc), of every
PostgreSQL process (backends and background processes apart), and of wrk (as a reaped child).
Prints CPU microseconds per request for each, and how busy the machine's cores were.

    .venv/bin/python bench/cpu_split.py [--backend postgresql|sqlite] [--runs 3] [--seconds 8]
"""

import argparse
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import (
    ceiling,
    cpu_seconds,
    create_series,
    descendants,
    fresh_database,
    median,
    ours,
    single_points,
)


def postgres_processes() -> dict[int, bool]:
    """Every PostgreSQL process: pid -> whether it is a client backend."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        background = any(
            word in cmdline
            for word in ("checkpointer", "background writer", "walwriter", "launcher", "-D")
        )
        found[int(entry.name)] = not background
    return found


def commits(url: str) -> int:
    """Transactions committed so far in the benchmark database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@contextmanager
def server(backend: str, workers: int) -> Iterator[tuple[str, int, str]]:
    """Ours (url, pid, database) on a fresh database, or the ceiling for backend "ceiling"."""
    if backend == "ceiling":
        with ceiling(workers) as (url, pid):
            yield url, pid, ""
        return
    with fresh_database(backend) as database, ours(workers, database) as ts:
        yield ts.url, ts.pid, database


def measure(backend: str, workers: int, seconds: int) -> dict[str, float]:
    with server(backend, workers) as (url, pid, database):
        series_id = create_series(url) if database else 1
        servers = descendants(pid)
        postgres = backend == "postgresql"
        commits_before = commits(database) if postgres else 0
        pg_before = {pid: cpu_seconds(pid) for pid in postgres_processes()}
        server_before = sum(cpu_seconds(pid) for pid in servers)
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before, total_before = machine_busy()
        started = time.monotonic()
        result = single_points(url, series_id, seconds)
        wall = time.monotonic() - started
        busy_after, total_after = machine_busy()
        committed = commits(database) - commits_before if postgres else 0
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_cpu = sum(cpu_seconds(pid) for pid in servers) - server_before
        backend_cpu = background_cpu = 0.0
        for pid, is_backend in postgres_processes().items():
            used = cpu_seconds(pid) - pg_before.get(pid, 0.0)
            if is_backend:
                backend_cpu += used
            else:
                background_cpu += used
        wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (
            wrk_before.ru_utime + wrk_before.ru_stime
        )
    requests = result.completed
    us = 1e6 / requests
    return {
        "rate": result.requests_per_s,
        "server": server_cpu * us,
        "pg backends": backend_cpu * us,
        "pg background": background_cpu * us,
        "wrk": wrk_cpu * us,
        "requests per commit": requests / committed if committed else 0.0,
        "busy": (busy_after - busy_before) / (total_after - total_before),
        "cores used": (server_cpu + backend_cpu + background_cpu + wrk_cpu) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    plan = [(backend, workers) for backend in (args.backend, "ceiling") for workers in (1, 2)]
    results: dict[tuple[str, int], list[dict[str, float]]] = {key: [] for key in plan}
    for run in range(1, args.runs + 1):
        for backend, workers in plan:
            figures = measure(backend, workers, args.seconds)
            results[backend, workers].append(figures)
            shown = ", ".join(f"{name} {value:,.2f}" for name, value in figures.items())
            print(f"run {run}, {backend}, {workers} worker(s): {shown}", flush=True)
    columns = ["requests/s", "server us/req", "PostgreSQL backends us/req",
               "PostgreSQL background us/req", "wrk us/req", "requests per commit",
               "cores busy"]  # fmt: skip
    print("\n| server | workers | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for (backend, workers), runs in results.items():
        m = {name: median([r[name] for r in runs]) for name in runs[0]}
        cells = [f"{m['rate']:,.0f}", f"{m['server']:,.0f}", f"{m['pg backends']:,.0f}",
                 f"{m['pg background']:,.0f}", f"{m['wrk']:,.0f}",
                 f"{m['requests per commit']:.1f}",
                 f"{m['busy'] * (os.cpu_count() or 1):.2f}"]  # fmt: skip
        print(f"| {backend} | {workers} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
