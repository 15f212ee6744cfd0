"""Reading one series of 1,000,000 points over a year (two fields), ours beside InfluxDB 1.x.

The same points go into our server (through the library, not timed) and into InfluxDB (line
protocol); then each read is timed through HTTP with a keep-alive client, many times:

- the hourly and the daily mean of the whole year (downsampling);
- 100,000 raw points as JSON;
- the latest point;
- all 1,000,000 points as CSV, streamed, with our server's memory (RSS) sampled meanwhile.

    flock /tmp/timeseries-bench.lock .venv/bin/python bench/reads_year.py [--runs 3]
        [--backend sqlite|postgresql] [--record]
"""

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import psycopg

from harness import fresh_database, influxdb, median, ours, record
from timeseries_api.domain import NewPoint, SeriesMeta, SeriesWrite
from timeseries_api.storage import open_storage

POINTS = 1_000_000
START_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
STEP_US = 365 * 86_400_000_000 // POINTS  # 31.5 s: a year
END_US = START_US + POINTS * STEP_US
BATCH = 10_000


def fields(i: int) -> dict[str, float]:
    return {"temp_C": 20 + (i % 100) / 10, "batt_V": round(3.7 - (i % 7) / 100, 2)}


async def fill_ours(database: str) -> int:
    storage = open_storage(database, sqlite_synchronous="normal")
    await storage.open()
    series_id = await storage.create_series(1, SeriesMeta("year", "bench", "bench"), START_US)
    for first in range(0, POINTS, BATCH):
        points = [
            NewPoint(START_US + i * STEP_US, orjson.dumps(fields(i)))
            for i in range(first, first + BATCH)
        ]
        await storage.write_points([SeriesWrite(1, series_id, points)])
    await storage.close()
    if database.startswith("postgresql"):
        # What autovacuum does soon after a bulk load: without statistics the planner guesses.
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    return series_id


def fill_influx(url: str) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for first in range(0, POINTS, BATCH):
            lines = "\n".join(
                f"year temp_C={f['temp_C']},batt_V={f['batt_V']} {START_US + i * STEP_US}"
                for i in range(first, first + BATCH)
                for f in (fields(i),)
            )
            client.post("/write", params={"db": "bench", "precision": "u"}, content=lines)
        count = client.get(
            "/query", params={"db": "bench", "q": "SELECT count(temp_C) FROM year"}
        ).json()
        stored = count["results"][0]["series"][0]["values"][0][1]
        assert stored == POINTS, stored


def timed(request: Callable[[], httpx.Response], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        response = request()
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return times


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakMemory:
    """The resident memory of a process before a block and its peak during it (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = rss_kib(pid)
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __enter__(self) -> "PeakMemory":
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._sampler.join()


def stream_lines(client: httpx.Client, path: str, **kwargs: object) -> tuple[int, float]:
    """Stream an answer; its number of lines and the seconds it took."""
    began = time.perf_counter()
    lines = 0
    with client.stream("GET", path, **kwargs) as response:  # type: ignore[arg-type]
        response.raise_for_status()
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
    return lines, time.perf_counter() - began


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    ms: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    memory: list[tuple[int, int]] = []
    start_s, end_s = START_US * 1000, END_US * 1000  # InfluxQL: nanoseconds
    influx_queries = {
        "hourly": f"SELECT mean(*) FROM year WHERE time >= {start_s} AND time < {end_s} "
        "GROUP BY time(1h)",
        "daily": f"SELECT mean(*) FROM year WHERE time >= {start_s} AND time < {end_s} "
        "GROUP BY time(1d)",
        "raw": "SELECT * FROM year LIMIT 100000",
        "latest": "SELECT * FROM year ORDER BY time DESC LIMIT 1",
    }
    with fresh_database(args.backend) as database:
        began = time.perf_counter()
        sid = asyncio.run(fill_ours(database))
        print(f"filled ours in {time.perf_counter() - began:.1f} s", flush=True)
        ours_paths = {
            "hourly": f"/series/{sid}?every=1h&agg=mean",
            "daily": f"/series/{sid}?every=1d&agg=mean",
            "raw": f"/series/{sid}?limit=100000",
            "latest": f"/series/{sid}/latest",
        }
        repeats = {"hourly": 20, "daily": 50, "raw": 20, "latest": 500}
        with influxdb() as url:
            fill_influx(url)
            with httpx.Client(base_url=url, timeout=300) as c:
                for _ in range(args.runs):
                    for name, q in influx_queries.items():
                        query = {"db": "bench", "q": q}
                        ms.setdefault(f"influx {name}", []).extend(
                            timed(lambda q=query: c.get("/query", params=q), repeats[name])
                        )
                    lines, seconds = stream_lines(
                        c, "/query", params={"db": "bench", "q": "SELECT * FROM year",
                                             "chunked": "true", "chunk_size": "10000"},
                        headers={"Accept": "application/csv"},
                    )  # fmt: skip
                    rates.setdefault("influx csv", []).append(POINTS / seconds)
                    print(f"InfluxDB CSV: {lines:,} lines in {seconds:.2f} s", flush=True)
        for run in range(args.runs):
            with (
                ours(1, database) as server,
                httpx.Client(base_url=server.url, timeout=300) as c,
            ):
                assert len(c.get(ours_paths["raw"]).json()) == 100_000
                assert len(c.get(ours_paths["daily"]).json()) == 365
                for name, path in ours_paths.items():
                    ms.setdefault(f"ours {name}", []).extend(
                        timed(lambda p=path: c.get(p), repeats[name])
                    )
                with PeakMemory(server.pid) as rss:
                    lines, seconds = stream_lines(c, f"/series/{sid}?format=csv")
                assert lines == POINTS + 1, lines
                rates.setdefault("ours csv", []).append(POINTS / seconds)
                memory.append((rss.before, rss.peak))
                print(
                    f"run {run + 1}: hourly {median(ms['ours hourly'][-20:]):.1f} ms, daily "
                    f"{median(ms['ours daily'][-50:]):.1f} ms, 100k raw "
                    f"{median(ms['ours raw'][-20:]):.1f} ms, latest "
                    f"{median(ms['ours latest'][-500:]):.2f} ms, CSV {POINTS / seconds:,.0f} "
                    f"points/s, RSS {rss.before / 1024:.0f} -> {rss.peak / 1024:.0f} MiB",
                    flush=True,
                )
    rows = [
        "| read | ours, median ms | p90 ms | InfluxDB 1.6.7, median ms | ours faster by | target |",
        "|---|---|---|---|---|---|",
    ]
    labels = {
        "hourly": ("hourly mean of the year (8,760 rows)", "< 100"),
        "daily": ("daily mean of the year (365 rows)", "< 30"),
        "raw": ("100,000 raw points as JSON", "< 100"),
        "latest": ("latest point", "< 2"),
    }
    for name, (label, target) in labels.items():
        o, i = median(ms[f"ours {name}"]), median(ms[f"influx {name}"])
        rows.append(
            f"| {label} | {o:.2f} | {p90(ms[f'ours {name}']):.2f} | {i:.2f} | {i / o:.1f}x | "
            f"{target} |"
        )
    o_csv, i_csv = median(rates["ours csv"]), median(rates["influx csv"])
    rows.append(
        f"| 1,000,000 points as CSV, points/s (wall) | {o_csv:,.0f} | | {i_csv:,.0f} | "
        f"{o_csv / i_csv:.1f}x | > 500,000 |"
    )
    rss = ", ".join(f"{b / 1024:.0f} -> {p / 1024:.0f}" for b, p in memory)
    rows.append("")
    rows.append(f"Server memory (RSS, MiB) before -> peak while streaming the CSV: {rss}.")
    table = "\n".join(rows)
    print(table)
    if args.record:
        record(
            f"Reads of a year of 1,000,000 points ({args.backend}), {args.runs} runs",
            f"bench/reads_year.py --runs {args.runs} --backend {args.backend}",
            table,
        )


if __name__ == "__main__":
    main()
