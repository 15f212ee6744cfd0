"""A deadline for receiving each request, headers and body, against slowloris clients.

uvicorn times out idle keep-alive connections, but a client that sends its headers or its body a
byte at a time holds a connection (and, for a body, a running request) for as long as it likes.
No ASGI middleware can see a request before its headers are complete, so this is a subclass of
uvicorn's httptools protocol: a timer starts when a connection opens or a request begins, stops
when the request has fully arrived, and on expiry answers ``408`` and closes the connection.
"""

import asyncio
import functools
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class RequestTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline of ``request_timeout`` seconds per request.

    Its own ``400`` for a malformed request is ``{"message": ...}`` like every error of ours.
    """

    def __init__(self, *args: Any, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # The keep-alive timeout takes over until the next request begins.
        self._disarm()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(b"400 Bad Request", msg)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # too late for an answer: just hang up
            return
        self.logger.info("request not received within %s s; closing", self.request_timeout)
        self._answer_and_close(
            b"408 Request Timeout",
            f"the request did not arrive within {self.request_timeout:g} s; send it faster",
        )

    def _answer_and_close(self, status: bytes, message: str) -> None:
        body = orjson.dumps({"message": message})
        head = [b"HTTP/1.1 " + status]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: %d" % len(body),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        if self.cycle is not None:  # a request task reading its body sees the client leave
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def request_timeout_protocol(request_timeout: float) -> type[asyncio.Protocol]:
    """The protocol to give uvicorn's ``http=``: a partial, so that worker processes can be
    handed it (it pickles), standing in for the class uvicorn calls with its own arguments."""
    protocol = functools.partial(RequestTimeoutProtocol, request_timeout=request_timeout)
    return cast(type[asyncio.Protocol], protocol)
