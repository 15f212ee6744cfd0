"""``serve --workers N``: every worker takes its share of connections, and one that dies is
replaced without stranding the connections meant for it."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, start_server

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; SO_REUSEPORT spreads on Linux"
)


def _workers(parent: int) -> list[int]:
    """The live worker processes of a server (its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) != parent or stat[0] == "Z":
                    continue
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:  # not multiprocessing's resource tracker
                found.append(int(entry.name))
    return found


def _connections_by_worker(workers: list[int], port: int) -> dict[int, int]:
    """How many established connections to ``port`` each worker holds."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    held = {}
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        links = [os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()]
        held[pid] = sum(1 for link in links if link[8:-1] in inodes and link.startswith("socket:"))
    return held


def _wait_for_workers(parent: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = _workers(parent)
        if len(workers) == count:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"expected {count} workers, found {_workers(parent)}")


def test_keep_alive_clients_are_spread_over_the_workers(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    server = start_server(tmp_path, database_url, users_path, "--workers", "2", env=None)
    port = int(server.url.rsplit(":", 1)[1])
    # Connected in a burst, as a load generator or a proxy's pool does: the kernel completes
    # every handshake before any worker wakes up to accept.
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    try:
        workers = _wait_for_workers(server.process.pid, 2)
        for client in clients:
            client.sendall(b"GET /series HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            client.settimeout(10)
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        held = _connections_by_worker(workers, port)
        assert sum(held.values()) == 16
        assert all(held.values()), f"one worker holds every connection: {held}"
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_a_worker_that_dies_is_replaced_and_no_connection_waits_for_it(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    server = start_server(tmp_path, database_url, users_path, "--workers", "2", env=None)
    try:
        workers = _wait_for_workers(server.process.pid, 2)
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while workers[0] in _workers(server.process.pid) or len(_workers(server.process.pid)) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        for _ in range(40):  # each a new connection: the kernel picks a socket for each
            assert httpx.get(server.url + "/series", timeout=5).status_code == 200
    finally:
        server.stop()


def test_workers_refuse_a_port_another_program_holds(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(RuntimeError, match="(?i)address already in use"):
            start_server(
                tmp_path, database_url, users_path, "--workers", "2", "--port", str(port), env=None
            )
