"""Running uvicorn with several worker processes, each listening on a socket of its own.

uvicorn's workers share one listening socket, and whichever process wakes first accepts every
connection that is waiting. A few clients that keep their connections open (Telegraf, Node-RED,
a reverse proxy's upstream pool, a benchmark) then all land on one process while the others
idle: measured here, 16 keep-alive connections gave one worker all of them. With SO_REUSEPORT
each worker has its own socket on the same port, and the kernel spreads new connections among
them.

The parent never opens those sockets: each worker binds its own as it starts (``_WorkerSocket``
is unpickled into one in the child), so the socket of a worker that dies closes with it and the
kernel stops sending it connections. The price: connections already queued at a worker that
stops (a restart, a crash) are reset rather than taken by another worker, unless the kernel
migrates them (``sysctl net.ipv4.tcp_migrate_req=1``).

This leans on uvicorn's ``Multiprocess`` supervisor handing each new worker process
``self.sockets`` (uvicorn 0.30 to 0.54 at least); ``tests/test_workers.py`` checks the result.
"""

import logging
import socket
import sys
from typing import Any, cast

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("uvicorn.error")


def _reuse_port_supported() -> bool:
    """True where the kernel spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def run(app: str, options: dict[str, Any]) -> None:
    """``uvicorn.run(app, **options)``, but with a socket per worker where that is possible:
    several workers, on Linux, on a fixed port (with port 0 each would pick its own)."""
    config = uvicorn.Config(app, **options)
    if config.workers <= 1 or config.port == 0 or not _reuse_port_supported():
        uvicorn.run(app, **options)
        return
    _check_port_free(config)
    host = f"[{config.host}]" if ":" in config.host else config.host
    log.info("Listening on http://%s:%d with %d workers", host, config.port, config.workers)
    supervisor = _OwnSocketPerWorker(config, sockets=[])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)  # a service manager should see that the server never ran


def _check_port_free(config: uvicorn.Config) -> None:
    """Fail at once, as uvicorn does, when another program holds the port (the workers' own
    sockets would otherwise share it with any process of this user that also reuses ports)."""
    try:
        _listening_socket(config.host, config.port, config.backlog, reuse_port=False).close()
    except OSError as exc:
        log.error("%s", exc)
        sys.exit(STARTUP_FAILURE)


class _WorkerSocket:
    """Stands for the listening socket a worker binds for itself when it starts."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self) -> tuple[Any, tuple[str, int, int]]:
        return _bind_in_worker, (self.host, self.port, self.backlog)


def _bind_in_worker(host: str, port: int, backlog: int) -> socket.socket:
    try:
        return _listening_socket(host, port, backlog, reuse_port=True)
    except OSError as exc:  # the supervisor stops, rather than restarting the worker forever
        log.error("%s", exc)
        sys.exit(STARTUP_FAILURE)


def _listening_socket(host: str, port: int, backlog: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


class _OwnSocketPerWorker(Multiprocess):
    """uvicorn's supervisor (restarts, signals, health checks), handing every worker process it
    starts a socket of its own."""

    @property
    def sockets(self) -> list[socket.socket]:
        config = self.config
        return [cast(socket.socket, _WorkerSocket(config.host, config.port, config.backlog))]

    @sockets.setter
    def sockets(self, _: list[socket.socket]) -> None:
        pass  # each read makes a new one
