"""Soak: hundreds of devices at once for a bounded time, then a burst past capacity.

Each connection is one device on its own keep-alive connection, pausing between requests:
most send single points, some JSON batches or line protocol, some read (a recent slice of a
series, the listing, the count), and a few are slow clients that send their body a byte at a
time. Afterwards every acknowledged point must be stored, no request may have failed, and the
server's memory (RSS) at the end must be close to where it stood once warmed up.

The overload phase points connections with no pause at a server whose write queue holds only a
few writes (--max-queued-writes): the excess must be answered 503 with Retry-After, at once, and
nothing acknowledged may be lost.

    flock /tmp/timeseries-bench.lock .venv/bin/python bench/soak.py [--seconds 60] [--record]

The test suite runs a short variant (tests/test_soak.py) through :func:`soak`.
"""

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from harness import TOKEN, create_series, ours, point_count, record

SERIES = 20
SLOW_BYTE_DELAY_S = 0.05  # a point's ~35-byte body takes ~2 s
KINDS = ("single", "batch", "line", "read", "slow")


@dataclass
class SoakResult:
    """What a soak saw: latencies per kind of request, statuses, memory, acknowledged points."""

    seconds: float
    connections: int
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # transport errors and unexpected statuses
    shed_without_retry_after: int = 0
    acknowledged_points: int = 0
    stored_points: int = 0
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds in, MB)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies_ms.get(kind, []))
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), in MB."""
    total_kb = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


class Device:
    """One connection speaking just enough HTTP/1.1 (keep-alive, chunked replies)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = "", slow: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: soak\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        if slow:
            self.writer.write(head)
            for i in range(len(body)):
                self.writer.write(body[i : i + 1])
                await self.writer.drain()
                await asyncio.sleep(SLOW_BYTE_DELAY_S)
        else:
            self.writer.write(head + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        reply_headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            reply_headers[name.strip().lower()] = value.strip()
        if reply_headers.get("transfer-encoding") == "chunked":
            content = b""
            while size := int((await self.reader.readline()).strip(), 16):
                content += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readline()
        else:
            content = await self.reader.readexactly(int(reply_headers.get("content-length", 0)))
        if reply_headers.get("connection") == "close":
            await self.close()
        return status, reply_headers, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None


def kind_of(index: int) -> str:
    """The mix: of every 20 devices, 1 slow, 3 readers, 1 batch sender, 2 line protocol."""
    slot = index % 20
    if slot == 0:
        return "slow"
    if slot <= 3:
        return "read"
    if slot == 4:
        return "batch"
    if slot <= 6:
        return "line"
    return "single"


async def _device_loop(
    index: int,
    host: str,
    port: int,
    series: list[int],
    token: str,
    until: float,
    think_s: float,
    result: SoakResult,
    shedding_expected: bool,
) -> None:
    kind = kind_of(index)
    series_id = series[index % len(series)]
    auth = f"Authorization: Bearer {token}\r\n"
    device = Device(host, port)
    values = itertools.count()
    rng = random.Random(index)
    try:
        while time.monotonic() < until:
            points = 0
            if kind in ("single", "slow"):
                body = orjson.dumps({"series_id": series_id, "fields": {"v": next(values)}})
                request = ("PUT", "/point/new", body, auth)
                points = 1
            elif kind == "batch":
                batch = [{"fields": {"v": next(values), "i": i}} for i in range(50)]
                body = orjson.dumps({"series_id": series_id, "points": batch})
                request = ("POST", "/point/new", body, auth)
                points = 50
            elif kind == "line":
                body = f"soak,device=d{index} v={next(values)}i,t=21.5".encode()
                request = ("POST", "/api/v2/write?bucket=soak&precision=s", body,
                           f"Authorization: Token {token}\r\n")  # fmt: skip
                points = 1
            else:
                recent = datetime.fromtimestamp(time.time() - 2, UTC).isoformat()
                path = rng.choice(
                    [f"/series/{series_id}", f"/series/{series_id}?from={recent}", "/series",
                     "/points/count", f"/series/{series_id}?callback=plot&from={recent}"]
                ).replace("+", "%2B")  # fmt: skip
                request = ("GET", path, b"", "")
            began = time.perf_counter()
            try:
                status, headers, _ = await device.request(*request, slow=kind == "slow")
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                result.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                await device.close()
                continue
            result.latencies_ms.setdefault(kind, []).append((time.perf_counter() - began) * 1000)
            result.statuses[status] += 1
            if status in (200, 201, 204):
                result.acknowledged_points += points
            elif status == 503 and shedding_expected:
                if "retry-after" not in headers:
                    result.shed_without_retry_after += 1
            else:
                result.failures.append(f"{kind}: {request[0]} {request[1]} answered {status}")
            if think_s:
                await asyncio.sleep(rng.uniform(0, 2 * think_s))
    finally:
        await device.close()


async def _sample_rss(pid: int, started: float, until: float, result: SoakResult) -> None:
    while time.monotonic() < until:
        result.rss_mb.append((time.monotonic() - started, rss_mb(pid)))
        await asyncio.sleep(1)
    result.rss_mb.append((time.monotonic() - started, rss_mb(pid)))


async def _soak(
    url: str, pid: int, token: str, seconds: float, connections: int, think_s: float,
    shedding: bool,
) -> SoakResult:  # fmt: skip
    host, port = url.removeprefix("http://").split(":")
    series = [create_series(url, token) for _ in range(SERIES)]
    before = point_count(url)
    result = SoakResult(seconds, connections)
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        _sample_rss(pid, started, until, result),
        *(
            _device_loop(i, host, int(port), series, token, until, think_s, result, shedding)
            for i in range(connections)
        ),
    )
    result.stored_points = point_count(url) - before
    return result


def soak(
    url: str,
    pid: int,
    *,
    token: str = TOKEN,
    seconds: float = 60,
    connections: int = 300,
    think_s: float = 0.1,
    shedding: bool = False,
) -> SoakResult:
    """Run the mix of devices against the server at ``url`` (process ``pid``) for ``seconds``."""
    return asyncio.run(_soak(url, pid, token, seconds, connections, think_s, shedding))


def warm_and_end_rss(result: SoakResult) -> tuple[float, float]:
    """RSS once warmed up (a fifth of the way in) and at the end, in MB."""
    warm_at = result.seconds / 5
    warm = next((mb for t, mb in result.rss_mb if t >= warm_at), result.rss_mb[0][1])
    return warm, result.rss_mb[-1][1]


def table(result: SoakResult, overload: SoakResult | None) -> str:
    rows = [
        "| requests | p50 ms | p90 ms | p99 ms | max ms | count |",
        "|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        values = result.latencies_ms.get(kind, [])
        if values:
            rows.append(
                f"| {kind} | {result.percentile(kind, 0.5):.1f} | "
                f"{result.percentile(kind, 0.9):.1f} | {result.percentile(kind, 0.99):.1f} | "
                f"{max(values):.0f} | {len(values):,} |"
            )
    warm, end = warm_and_end_rss(result)
    peak = max(mb for _, mb in result.rss_mb)
    lines = [
        "\n".join(rows),
        "",
        f"- {result.connections} connections for {result.seconds:.0f} s: {result.requests:,} "
        f"requests ({result.requests / result.seconds:,.0f}/s), statuses "
        f"{dict(sorted(result.statuses.items()))}, failures {len(result.failures)}",
        f"- points acknowledged {result.acknowledged_points:,}, stored {result.stored_points:,}",
        f"- server RSS: {result.rss_mb[0][1]:.0f} MB at start, {warm:.0f} MB warmed up, "
        f"{end:.0f} MB at the end (peak {peak:.0f} MB)",
    ]
    if overload is not None:
        shed = overload.statuses.get(503, 0)
        lines.append(
            f"- overload, {overload.connections} connections without pause for "
            f"{overload.seconds:.0f} s, `--max-queued-writes 20`: {overload.requests:,} requests, "
            f"{shed:,} shed with 503 ({shed / max(overload.requests, 1):.0%}), "
            f"{overload.shed_without_retry_after} without Retry-After, other failures "
            f"{len(overload.failures)}, acknowledged {overload.acknowledged_points:,} = stored "
            f"{overload.stored_points:,}; p99 of writes "
            f"{overload.percentile('single', 0.99):.0f} ms"
        )
    return "\n".join(lines)


def problems(result: SoakResult) -> list[str]:
    """Why a soak failed, if it did."""
    found = [*result.failures[:10]]
    if result.shed_without_retry_after:
        found.append(f"{result.shed_without_retry_after} 503s without Retry-After")
    if result.stored_points != result.acknowledged_points:
        found.append(
            f"acknowledged {result.acknowledged_points} points, stored {result.stored_points}"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--think", type=float, default=0.1, help="mean pause between requests")
    parser.add_argument("--overload-seconds", type=float, default=10)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    with ours(1) as server:
        result = soak(server.url, server.pid, seconds=args.seconds,
                      connections=args.connections, think_s=args.think)  # fmt: skip
    overload = None
    if args.overload_seconds:
        with ours(1, None, "--max-queued-writes", "20") as server:
            overload = soak(server.url, server.pid, seconds=args.overload_seconds,
                            connections=args.connections, think_s=0, shedding=True)  # fmt: skip
    text = table(result, overload)
    print(text)
    failed = problems(result) + (problems(overload) if overload else [])
    for problem in failed:
        print("FAILED:", problem)
    if args.record and not failed:
        command = (
            f"flock /tmp/timeseries-bench.lock .venv/bin/python bench/soak.py "
            f"--seconds {args.seconds:g} --connections {args.connections}"
        )
        record(f"Soak, {args.seconds:g} s", command, text)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
