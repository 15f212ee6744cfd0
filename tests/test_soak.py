"""A short soak in the suite (bench/soak.py runs the long one): a couple of hundred devices
writing, reading and dribbling bodies for a few seconds, then a burst past capacity.

No request may fail, every acknowledged point must be stored, memory must not grow, and past
capacity the excess is shed with 503 and Retry-After. Marked ``soak``: part of the default run,
deselected with ``-m 'not soak'``.
"""

import sys
from pathlib import Path

import pytest

from .conftest import ROBIN_TOKEN, Server, start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from soak import KINDS, problems, soak, warm_and_end_rss

SECONDS = 6
CONNECTIONS = 200
# Python's allocator keeps freed arenas for reuse; growth beyond this over a few seconds of a
# steady load would be a leak.
MAX_RSS_GROWTH_MB = 25


@pytest.mark.soak
def test_hundreds_of_devices_for_a_few_seconds(server: Server) -> None:
    result = soak(server.url, server.process.pid, token=ROBIN_TOKEN, seconds=SECONDS,
                  connections=CONNECTIONS)  # fmt: skip
    assert problems(result) == []
    assert set(result.latencies_ms) == set(KINDS), "every kind of device got answers"
    assert result.acknowledged_points > 1000
    warm, end = warm_and_end_rss(result)
    assert end - warm < MAX_RSS_GROWTH_MB, result.rss_mb


@pytest.mark.soak
def test_past_capacity_the_excess_is_shed_with_503_and_retry_after(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    server = start_server(tmp_path, database_url, users_path, "--max-queued-writes", "20",
                          env=None)  # fmt: skip
    try:
        result = soak(server.url, server.process.pid, token=ROBIN_TOKEN, seconds=3,
                      connections=CONNECTIONS, think_s=0, shedding=True)  # fmt: skip
    finally:
        server.stop()
    assert problems(result) == []  # 503s carry Retry-After, nothing acknowledged is lost
    assert result.statuses[503] > 0, "the burst never went past capacity"
    assert result.statuses[201] > 0, "nothing got through"
