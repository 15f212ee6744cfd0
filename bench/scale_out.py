"""Scale-out: do N server processes on one database write N times as much as one?

Single-point writes (32 connections, PUT /point/new, as in ingest.py) with 1 and 2 server
processes, ours and the bare Starlette ceiling, each run twice over:

- **each process held to a CPU budget of its own** (``--cpu``, in cores): a cgroup per server
  process with a CFS quota, as a container limit or a machine of its own would hold it. This is
  the deployment the scale-out recipe describes (server processes on machines of their own behind
  a load balancer), emulated on one machine: what is left to measure is whether the servers and
  the database serialize each other's writes.
- **unlimited**: every process competes for the machine's cores with wrk and PostgreSQL. On a
  2-core machine two processes cannot get twice the CPU of one, so even the ceiling scales far
  less than 2x; these figures say how much.

After each run of ours the stored count is checked against the acknowledged responses.

    .venv/bin/python bench/scale_out.py [--backend postgresql|sqlite] [--cpu 0.5] [--runs 3]
                                        [--seconds 8] [--record]

Needs root (it writes to /sys/fs/cgroup) and wrk.
"""

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from harness import (
    TOKEN,
    WrkResult,
    ceiling,
    create_series,
    descendants,
    fresh_database,
    median,
    ours,
    point_count,
    record,
    wrk,
)

# The kernel's default period, which container limits (``docker run --cpus``) use too. Shorter
# periods were tried: at 2-10 ms a throttled process loses more than its quota (a lone process
# held to 0.5 core served a third of an unlimited one's requests, not a half).
PERIOD_US = 100_000
CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")


def _cgroup_root() -> tuple[Path, bool]:
    """Where CPU cgroups are made here, and whether it is cgroup v2."""
    if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
        return CGROUP_V1, False
    if "cpu" in (CGROUP_V2 / "cgroup.subtree_control").read_text(errors="replace").split():
        return CGROUP_V2, True
    sys.exit("FAILED: no writable cpu cgroup controller (cgroup v1 cpu, or v2 with +cpu)")


@contextmanager
def cpu_budget(pids: list[int], cores: float) -> Iterator[None]:
    """Each process of ``pids`` in a cgroup of its own, held to ``cores`` CPUs."""
    root, v2 = _cgroup_root()
    quota = int(cores * PERIOD_US)
    groups: list[Path] = []
    try:
        for pid in pids:
            group = root / f"timeseries-bench-{os.getpid()}-{pid}"
            group.mkdir()
            groups.append(group)
            if v2:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            else:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        for group in groups:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    (root / "cgroup.procs").write_text(pid)
                except ProcessLookupError:
                    pass
            group.rmdir()


def serving_processes(pid: int, workers: int) -> list[int]:
    """The processes that serve requests: the server itself, or its worker processes."""
    if workers == 1:
        return [pid]
    found = [
        p for p in descendants(pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    if len(found) != workers:
        sys.exit(f"FAILED: expected {workers} worker processes under {pid}, found {found}")
    return found


def run_ours(backend: str, workers: int, cores: float, seconds: int) -> WrkResult:
    with fresh_database(backend) as database, ours(workers, database) as server:
        series_id = create_series(server.url)
        with _budget(server.pid, workers, cores):
            result = _load(server.url, series_id, seconds)
        stored = point_count(server.url)  # outside the budget: counting is not the benchmark
    acknowledged = result.completed - result.errors
    if result.errors:
        sys.exit(f"FAILED: {result.errors} requests failed or timed out")
    if stored < acknowledged:
        sys.exit(f"FAILED: {stored} points stored but {acknowledged} acknowledged")
    return result


def run_ceiling(workers: int, cores: float, seconds: int) -> WrkResult:
    with ceiling(workers) as (url, pid), _budget(pid, workers, cores):
        return _load(url, 1, seconds)


def _budget(pid: int, workers: int, cores: float) -> AbstractContextManager[None]:
    """The server's processes held to ``cores`` each; no limit for 0."""
    return cpu_budget(serving_processes(pid, workers), cores) if cores else nullcontext()


def _load(url: str, series_id: int, seconds: int) -> WrkResult:
    return wrk(
        url + "/point/new",
        "put_point.lua",
        connections=32,
        seconds=seconds,
        env={"TOKEN": TOKEN, "SERIES_ID": str(series_id)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--cpu", type=float, default=0.5, help="cores per server process")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    budgets = {f"{args.cpu:g} core per process": args.cpu, "unlimited": 0.0}
    plan = [
        (budget, server, workers)
        for budget in budgets
        for server in ("ours", "ceiling")
        for workers in (1, 2)
    ]
    rates: dict[tuple[str, str, int], list[float]] = {key: [] for key in plan}
    for run in range(1, args.runs + 1):
        for budget, server, workers in plan:
            cores = budgets[budget]
            if server == "ours":
                result = run_ours(args.backend, workers, cores, args.seconds)
            else:
                result = run_ceiling(workers, cores, args.seconds)
            rates[budget, server, workers].append(result.requests_per_s)
            print(
                f"run {run}: {budget}, {server}, {workers} process(es): "
                f"{result.requests_per_s:,.0f} requests/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms",
                flush=True,
            )
    rows = [
        "| CPU | server | 1 process, requests/s | 2 processes, requests/s | 2 / 1 |",
        "|---|---|---|---|---|",
    ]
    for budget in budgets:
        for server in ("ours", "ceiling"):
            name = f"ours ({args.backend})" if server == "ours" else "ceiling (bare Starlette)"
            one = median(rates[budget, server, 1])
            two = median(rates[budget, server, 2])
            # The ratio of each run's pair, measured minutes apart, then their median.
            pairs = zip(rates[budget, server, 1], rates[budget, server, 2], strict=True)
            ratios = [b / a for a, b in pairs]
            rows.append(
                f"| {budget} | {name} | {one:,.0f} | {two:,.0f} | {median(ratios):.2f}x "
                f"(runs: {', '.join(f'{r:.2f}' for r in ratios)}) |"
            )
    table = "\n".join(rows)
    print(table)
    if args.record:
        command = (
            f"bench/scale_out.py --backend {args.backend} --cpu {args.cpu:g} "
            f"--runs {args.runs} --seconds {args.seconds}"
        )
        record(f"Scale-out of single-point writes on {args.backend}", command, table)


if __name__ == "__main__":
    main()
