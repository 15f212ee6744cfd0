"""Scale-out: do N server processes on one database write N times as much as one?

Single-point writes (32 connections, PUT /point/new, as in ingest.py) with 1 and 2 server
processes, ours and the bare Starlette ceiling, each run twice over:

- each process held to a CPU budget of its own (--cpu, in cores): a cgroup per serving
  process with a CFS quota, as a container limit would hold it. This stands in for the
  deployment the scale-out recipe describes (server processes on machines of their own behind a
  load balancer): with the rest of the machine left to PostgreSQL and wrk, what is left to
  measure is whether the servers and the database serialize each other's writes. A throttled
  process stops whole until its next period, so it serves less than its share would suggest;
  the ceiling under the same budgets shows what the method itself gives, and the CPU the serving
  processes actually used is reported beside each rate.
- unlimited: every process competes for the machine's cores with wrk and PostgreSQL. On a
  2-core machine two processes cannot get twice the CPU of one, so even the ceiling scales far
  less than 2x; these figures say how much.

After each run of ours the stored count is checked against the acknowledged responses.

    .venv/bin/python bench/scale_out.py [--backend postgresql|sqlite] [--cpu 0.5] [--runs 3]
                                        [--seconds 8] [--record]

Needs root (it writes to /sys/fs/cgroup), wrk, and for the default backend the PostgreSQL server
at 127.0.0.1:5432 (or TIMESERIES_BENCH_POSTGRES). A run stopped with SIGTERM or Ctrl-C removes
its cgroups; after a SIGKILL, remove them with rmdir /sys/fs/cgroup/cpu/timeseries-bench-*
(cgroup v1) or rmdir /sys/fs/cgroup/timeseries-bench-* (v2).
"""

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from harness import (
    WrkResult,
    ceiling,
    check_stored,
    cpu_seconds,
    create_series,
    descendants,
    fresh_database,
    median,
    ours,
    point_count,
    record,
    single_points,
)

# The kernel's default period, which container limits (``docker run --cpus``) use too. A lone
# process held to 0.5 core served 26-39% of an unlimited one's requests with a 2 ms period, and
# 32-52% with 10 ms or 100 ms (one to two runs each): a throttled process stops whole, with its
# connections and database round trips waiting, so it loses more than its share of time. Hence
# the CPU the serving processes actually used is reported beside every rate.
PERIOD_US = 100_000
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")
GROUP_PREFIX = "timeseries-bench-"


@dataclass
class Measured:
    """One run of one configuration."""

    requests_per_s: float
    server_cores: float  # CPU used by the serving processes, in cores, over the load
    p99_ms: float


def _cgroup_root() -> tuple[Path, bool]:
    """Where CPU cgroups are made here, and whether it is cgroup v2."""
    if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
        return CGROUP_V1, False
    try:
        controllers = (CGROUP_V2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        controllers = []
    if "cpu" not in controllers or not os.access(CGROUP_V2, os.W_OK):
        sys.exit(
            "FAILED: no cpu cgroup controller to write to (cgroup v1 'cpu', or v2 with +cpu in "
            "cgroup.subtree_control); run as root, or use bench/cpu_split.py"
        )
    return CGROUP_V2, True


def _current_group(pid: int, root: Path, v2: bool) -> Path:
    """The cgroup of ``pid`` in the hierarchy that has the cpu controller."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (v2 and controllers == "") or (not v2 and "cpu" in controllers.split(",")):
            return root / path.lstrip("/")
    return root


@contextmanager
def cpu_budget(pids: list[int], cores: float) -> Iterator[list[Path]]:
    """Each process of ``pids`` in a cgroup of its own, held to ``cores`` CPUs; on the way out
    each goes back to the cgroup it came from and the groups are removed."""
    root, v2 = _cgroup_root()
    quota = int(cores * PERIOD_US)
    moved: list[tuple[Path, Path]] = []  # (group, where its process came from)
    try:
        for pid in pids:
            origin = _current_group(pid, root, v2)
            group = root / f"{GROUP_PREFIX}{os.getpid()}-{pid}"
            group.mkdir()
            moved.append((group, origin))
            if v2:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            (group / "cgroup.procs").write_text(str(pid))
        yield [group for group, _ in moved]
    finally:
        for group, origin in moved:
            try:
                for pid in (group / "cgroup.procs").read_text().split():
                    try:
                        (origin / "cgroup.procs").write_text(pid)
                    except ProcessLookupError:
                        pass
                group.rmdir()
            except OSError as exc:
                print(f"warning: could not remove {group}: {exc}", file=sys.stderr)


def serving_processes(pid: int, workers: int) -> list[int]:
    """The processes that serve requests: the server itself, or its ``workers`` worker
    processes (uvicorn spawns them; they may take a moment to appear)."""
    if workers == 1:
        return [pid]
    deadline = time.monotonic() + 10
    while True:
        found = []
        for process in descendants(pid):
            try:
                if b"spawn_main" in Path(f"/proc/{process}/cmdline").read_bytes():
                    found.append(process)
            except OSError:  # gone meanwhile
                pass
        if len(found) == workers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if len(found) != workers:
        sys.exit(f"FAILED: expected {workers} worker processes under {pid}, found {found}")
    return sorted(found)


def measure(
    url: str, pid: int, workers: int, cores: float, series_id: int, seconds: int
) -> tuple[WrkResult, Measured]:
    """Load the server for ``seconds``, its serving processes held to ``cores`` each (0: not
    held); fail if a serving process was replaced meanwhile (it would have run unbudgeted)."""
    processes = serving_processes(pid, workers)
    with cpu_budget(processes, cores) if cores else nullcontext([]) as groups:
        before = sum(cpu_seconds(p) for p in processes)
        started = time.monotonic()
        result = single_points(url, series_id, seconds)
        wall = time.monotonic() - started
        used = sum(cpu_seconds(p) for p in processes) - before
        if serving_processes(pid, workers) != processes or any(
            not (group / "cgroup.procs").read_text().split() for group in groups
        ):
            sys.exit("FAILED: a serving process was replaced during the run")
    return result, Measured(result.requests_per_s, used / wall, result.p99_ms)


def run_ours(backend: str, workers: int, cores: float, seconds: int) -> Measured:
    with fresh_database(backend) as database, ours(workers, database) as server:
        series_id = create_series(server.url)
        result, measured = measure(server.url, server.pid, workers, cores, series_id, seconds)
        # Outside the budget: counting is not the benchmark.
        check_stored(result, point_count(server.url), 1)
    return measured


def run_ceiling(workers: int, cores: float, seconds: int) -> Measured:
    with ceiling(workers) as (url, pid):
        return measure(url, pid, workers, cores, 1, seconds)[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql"],
        default="postgresql",
        help="the database (default: %(default)s)",
    )
    parser.add_argument(
        "--cpu", type=float, default=0.5, help="cores per server process, > 0 (default: 0.5)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of every configuration (default: 3)"
    )
    parser.add_argument("--seconds", type=int, default=8, help="seconds per run (default: 8)")
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    if args.cpu <= 0:
        parser.error("--cpu must be more than 0 (unlimited runs are always made)")
    # A plain kill would skip the clean-up of the cgroups; exit through it instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    budgets = {f"{args.cpu:g} core(s) per process": args.cpu, "unlimited": 0.0}
    plan = [
        (budget, server, workers)
        for budget in budgets
        for server in ("ours", "ceiling")
        for workers in (1, 2)
    ]
    runs: dict[tuple[str, str, int], list[Measured]] = {key: [] for key in plan}
    for run in range(1, args.runs + 1):
        for budget, server, workers in plan:
            cores = budgets[budget]
            if server == "ours":
                measured = run_ours(args.backend, workers, cores, args.seconds)
            else:
                measured = run_ceiling(workers, cores, args.seconds)
            runs[budget, server, workers].append(measured)
            print(
                f"run {run}: {budget}, {server}, {workers} process(es): "
                f"{measured.requests_per_s:,.0f} requests/s, servers used "
                f"{measured.server_cores:.2f} cores, p99 {measured.p99_ms:.1f} ms",
                flush=True,
            )
    table = _table(runs, budgets, args.backend)
    print(table)
    if args.record:
        command = (
            f"bench/scale_out.py --backend {args.backend} --cpu {args.cpu:g} "
            f"--runs {args.runs} --seconds {args.seconds}"
        )
        record(f"Scale-out of single-point writes on {args.backend}", command, table)


def _table(
    runs: dict[tuple[str, str, int], list[Measured]], budgets: dict[str, float], backend: str
) -> str:
    rows = [
        "| CPU | server | 1 process, requests/s (cores used) | 2 processes, requests/s "
        "(cores used) | 2 / 1, of the medians | 2 / 1, each run |",
        "|---|---|---|---|---|---|",
    ]
    for budget in budgets:
        for server in ("ours", "ceiling"):
            name = f"ours ({backend})" if server == "ours" else "ceiling (bare Starlette)"
            one, two = runs[budget, server, 1], runs[budget, server, 2]
            rate1 = median([m.requests_per_s for m in one])
            rate2 = median([m.requests_per_s for m in two])
            cores1 = median([m.server_cores for m in one])
            cores2 = median([m.server_cores for m in two])
            # The two halves of a pair run seconds apart; runs are minutes apart.
            pairs = [b.requests_per_s / a.requests_per_s for a, b in zip(one, two, strict=True)]
            rows.append(
                f"| {budget} | {name} | {rate1:,.0f} ({cores1:.2f}) | {rate2:,.0f} "
                f"({cores2:.2f}) | {rate2 / rate1:.2f}x | "
                f"{', '.join(f'{r:.2f}' for r in pairs)} |"
            )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
