"""Read latency: one series of 100,000 points as JSON, and GET /series over 100 series.

The database is filled through the library (not timed), then read through the real server with a
keep-alive HTTP client; each figure is the median (and 90th percentile) of many requests. The
ceiling is a bare Starlette endpoint sending the same number of bytes from memory.

    flock /tmp/timeseries-bench.lock .venv/bin/python bench/reads.py [--runs 3]
        [--backend sqlite|postgresql] [--record]
"""

import argparse
import asyncio
import statistics
import time

import httpx
import orjson

from harness import ceiling, fresh_database, median, ours, record
from timeseries_api.domain import NewPoint, SeriesMeta, SeriesWrite
from timeseries_api.storage import open_storage

BIG_SERIES = 100_000
SMALL_SERIES = 100
SMALL_TOTAL = 110_000


async def fill(database: str) -> int:
    """One series of 100,000 points (two fields, a minute apart) and 100 series holding 110,000
    points in all, in the database at a URL. Returns the big series' id."""
    storage = open_storage(database, sqlite_synchronous="normal")
    await storage.open()
    start = 1_735_689_600_000_000  # 2025-01-01
    big = await storage.create_series(1, SeriesMeta("big", "bench", "bench"), start)
    for first in range(0, BIG_SERIES, 10_000):
        points = [
            NewPoint(
                start + i * 60_000_000, orjson.dumps({"temp_C": 20 + (i % 100) / 10, "batt_V": 3.7})
            )
            for i in range(first, first + 10_000)
        ]
        await storage.write_points([SeriesWrite(1, big, points)])
    per_series = SMALL_TOTAL // SMALL_SERIES
    for n in range(SMALL_SERIES - 1):
        sid = await storage.create_series(1, SeriesMeta(f"s{n}", "bench", f"d{n}"), start)
        points = [NewPoint(start + i * 1_000_000, b'{"v":1}') for i in range(per_series)]
        await storage.write_points([SeriesWrite(1, sid, points)])
    await storage.close()
    return big


def timed(client: httpx.Client, path: str, repeats: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(repeats):
        began = time.perf_counter()
        response = client.get(path)
        size = len(response.content)
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return times, size


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with fresh_database(args.backend) as database:
        big = asyncio.run(fill(database))
        for run in range(args.runs):
            with (
                ours(1, database) as server,
                httpx.Client(base_url=server.url, timeout=60) as c,
            ):
                points = c.get(f"/series/{big}").json()
                assert len(points) == BIG_SERIES, len(points)
                assert len(c.get("/series").json()) == SMALL_SERIES
                series_ms, series_size = timed(c, f"/series/{big}", 20)
                listing_ms, listing_size = timed(c, "/series", 200)
            with ceiling(1) as (url, _), httpx.Client(base_url=url, timeout=60) as c:
                blob_ms, _ = timed(c, f"/blob/{series_size}", 20)
            for name, values in (("series", series_ms), ("listing", listing_ms), ("blob", blob_ms)):
                results.setdefault(name, []).extend(values)
            print(
                f"run {run + 1}: GET /series/<id> 100k points ({series_size:,} bytes) median "
                f"{median(series_ms):.1f} ms; GET /series ({listing_size:,} bytes) median "
                f"{median(listing_ms):.2f} ms; ceiling for the same bytes "
                f"{median(blob_ms):.1f} ms",
                flush=True,
            )
    rows = [
        "| request | median ms | p90 ms | target |",
        "|---|---|---|---|",
        f"| `GET /series/<id>`, 100,000 points | {median(results['series']):.1f} | "
        f"{p90(results['series']):.1f} | < 150 |",
        f"| `GET /series`, 100 series, 110,000 points | {median(results['listing']):.2f} | "
        f"{p90(results['listing']):.2f} | < 20 |",
        f"| ceiling: the same bytes as the 100,000 points, from memory | "
        f"{median(results['blob']):.1f} | {p90(results['blob']):.1f} | |",
    ]
    table = "\n".join(rows)
    print(table)
    if args.record:
        record(
            f"Reads ({args.backend}), {args.runs} runs",
            f"bench/reads.py --runs {args.runs} --backend {args.backend}",
            table,
        )


if __name__ == "__main__":
    main()
