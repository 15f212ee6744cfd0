"""Write throughput, each scenario beside its baseline in the same run.

- single-point PUT /point/new from 32 connections, ours vs a bare Starlette endpoint (ceiling);
- JSON batches of 1,000 points on /point/new;
- line protocol batches of 5,000 lines, ours vs InfluxDB 1.x (Debian's package);
- single-line line protocol writes, ours vs InfluxDB.

Every acknowledged point must be stored: after each run of ours the stored count is compared
with the acknowledged responses (it may exceed them by requests in flight when wrk stopped).

    .venv/bin/python bench/ingest.py [--backend sqlite|postgresql] [--runs 3] [--seconds 10]
                                     [--record]
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import (
    TOKEN,
    WrkResult,
    ceiling,
    check_stored,
    create_series,
    fresh_database,
    influxdb,
    median,
    ours,
    point_count,
    record,
    single_points,
    wrk,
)

# Connections for batch scenarios. With few keep-alive connections the kernel may hand most of
# them to one of the worker processes (seen here: 8 connections gave either ~12 or ~22 requests
# per second, run to run); 16 spreads them evenly enough.
BATCH_CONNECTIONS = 16


@dataclass
class Scenario:
    name: str
    unit: str  # what one request carries
    per_request: int
    runs: list[WrkResult] = field(default_factory=list)

    def rate(self) -> float:
        return median([r.requests_per_s * self.per_request for r in self.runs])


def run_ours(
    backend: str,
    workers: int,
    script: str,
    per_request: int,
    seconds: int,
    conns: int,
    env: dict[str, str],
) -> WrkResult:
    with fresh_database(backend) as database, ours(workers, database) as server:
        series_id = create_series(server.url)
        result = wrk(
            server.url + "/point/new",
            script,
            connections=conns,
            seconds=seconds,
            env={"TOKEN": TOKEN, "SERIES_ID": str(series_id), **env},
        )
        check_stored(result, point_count(server.url), per_request)
        return result


def run_influx(script: str, seconds: int, conns: int) -> WrkResult:
    with influxdb() as url:
        return wrk(
            url,
            script,
            connections=conns,
            seconds=seconds,
            env={"WRITE_PATH": "/write?db=bench&precision=s", "AUTH": ""},
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--skip-influx", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--only", metavar="TEXT", help="run only the scenarios whose name contains TEXT"
    )
    args = parser.parse_args()
    b = args.backend
    s = args.seconds
    lp_ours = {"WRITE_PATH": "/write?db=bench&precision=s", "AUTH": f"Token {TOKEN}"}

    plan: list[tuple[Scenario, Callable[[], WrkResult]]] = []
    for workers in (1, 2):
        plan += [
            (
                Scenario(f"single point, ours, {workers} worker(s)", "point", 1),
                lambda w=workers: run_ours(b, w, "put_point.lua", 1, s, 32, {}),
            ),
            (
                Scenario(
                    f"single point, ceiling (bare Starlette), {workers} worker(s)", "request", 1
                ),
                lambda w=workers: _ceiling(w, s),
            ),
            (
                Scenario(f"JSON batch of 1,000, ours, {workers} worker(s)", "point", 1000),
                lambda w=workers: run_ours(b, w, "json_batch.lua", 1000, s, BATCH_CONNECTIONS, {}),
            ),
            (
                Scenario(f"line protocol, 5,000 lines, ours, {workers} worker(s)", "point", 5000),
                lambda w=workers: run_ours(
                    b, w, "line_protocol.lua", 5000, s, BATCH_CONNECTIONS, lp_ours
                ),
            ),
            (
                Scenario(f"line protocol, 1 line, ours, {workers} worker(s)", "point", 1),
                lambda w=workers: run_ours(b, w, "line_protocol_single.lua", 1, s, 32, lp_ours),
            ),
        ]
    if not args.skip_influx:
        plan += [
            (
                Scenario("line protocol, 5,000 lines, InfluxDB 1.6.7", "point", 5000),
                lambda: run_influx("line_protocol.lua", s, BATCH_CONNECTIONS),
            ),
            (
                Scenario("line protocol, 1 line, InfluxDB 1.6.7", "point", 1),
                lambda: run_influx("line_protocol_single.lua", s, 32),
            ),
        ]

    if args.only:
        plan = [(scenario, measure) for scenario, measure in plan if args.only in scenario.name]
    for run in range(1, args.runs + 1):
        for scenario, measure in plan:
            result = measure()
            scenario.runs.append(result)
            print(
                f"run {run}: {scenario.name}: {result.requests_per_s * scenario.per_request:,.0f} "
                f"{scenario.unit}s/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"{result.errors} errors",
                flush=True,
            )

    rows = ["| scenario | median per second | p50 ms | p99 ms | errors |", "|---|---|---|---|---|"]
    for scenario, _ in plan:
        rows.append(
            f"| {scenario.name} | {scenario.rate():,.0f} {scenario.unit}s | "
            f"{median([r.p50_ms for r in scenario.runs]):.1f} | "
            f"{median([r.p99_ms for r in scenario.runs]):.1f} | "
            f"{sum(r.errors for r in scenario.runs)} |"
        )
    rates = {scenario.name: scenario.rate() for scenario, _ in plan}
    rows.append("")
    for workers in () if args.only else (1, 2):
        ours_single = rates[f"single point, ours, {workers} worker(s)"]
        ceil = rates[f"single point, ceiling (bare Starlette), {workers} worker(s)"]
        rows.append(
            f"- {workers} worker(s): single-point writes at {ours_single / ceil:.0%} of the "
            "ceiling."
        )
        if not args.skip_influx:
            for kind in ("5,000 lines", "1 line"):
                ratio = (
                    rates[f"line protocol, {kind}, ours, {workers} worker(s)"]
                    / rates[f"line protocol, {kind}, InfluxDB 1.6.7"]
                )
                rows.append(
                    f"- {workers} worker(s): line protocol ({kind}) at {ratio:.2f}x InfluxDB."
                )
    for what in ("single point", "JSON batch of 1,000", "line protocol, 5,000 lines"):
        one, two = (rates.get(f"{what}, ours, {w} worker(s)") for w in (1, 2))
        if one and two:
            rows.append(f"- {what}: 2 workers / 1 worker: {two / one:.2f}x.")
    table = "\n".join(rows)
    print(table)
    if args.record:
        command = f"bench/ingest.py --backend {args.backend} --runs {args.runs} --seconds {s}"
        if args.only:
            command += f' --only "{args.only}"'
        record(f"Writes on {args.backend}, median of {args.runs} runs", command, table)


def _ceiling(workers: int, seconds: int) -> WrkResult:
    with ceiling(workers) as (url, _):
        return single_points(url, 1, seconds)


if __name__ == "__main__":
    main()
