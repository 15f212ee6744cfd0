"""Limits on how a request arrives, which no ASGI middleware can see: a deadline for the whole
request (slowloris) and a cap on the size of its request line and headers.

uvicorn times out idle keep-alive connections, but a client that sends its headers or its body a
byte at a time holds a connection (and, for a body, a running request) for as long as it likes,
and with httptools there is no limit on header size at all: one connection could send hundreds
of megabytes of "headers" into memory. This is a subclass of uvicorn's httptools protocol: a
timer starts when a connection opens or a request begins and stops when the request has fully
arrived (``408`` on expiry), and the bytes received while the headers are incomplete are counted
(``431`` past :data:`MAX_HEADER_BYTES`). Either way the connection is then closed.
"""

import asyncio
import functools
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Request line and headers together (nginx allows 32 KiB, uvicorn's h11 16 KiB). Counted per
# received chunk, so a pipelined request starting mid-chunk may count a little of its neighbour.
MAX_HEADER_BYTES = 64 * 1024
# After refusing a request, read and drop what the client still sends for this long before
# closing: closing with unread data makes the kernel send a reset, which can destroy the answer
# before the client has read it.
LINGER_SECONDS = 2.0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline of ``request_timeout`` seconds per request
    and a cap of :data:`MAX_HEADER_BYTES` on its headers.

    Its own ``400`` for a malformed request is ``{"message": ...}`` like every error of ours.
    """

    def __init__(self, *args: Any, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._in_headers = True
        self._header_bytes = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._in_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._answer_and_close(
                    b"431 Request Header Fields Too Large",
                    f"the request line and headers are over {MAX_HEADER_BYTES} bytes",
                )

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._header_bytes = True, 0
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
        self._refused = True
        self._disarm()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def limited_http_protocol(request_timeout: float) -> type[asyncio.Protocol]:
    """The protocol to give uvicorn's ``http=``: a partial, so that worker processes can be
    handed it (it pickles), standing in for the class uvicorn calls with its own arguments."""
    protocol = functools.partial(LimitedHttpToolsProtocol, request_timeout=request_timeout)
    return cast(type[asyncio.Protocol], protocol)
