"""Streaming a read in chunks, the same on every backend: the next chunk is read while the
current one is sent, so the database and the socket work at the same time."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

from ..domain import PointKey

Chunk = tuple[str | None, PointKey | None]  # rows of text, and the key to continue after


async def stream_chunks(
    read_after: Callable[[PointKey | None], Awaitable[Chunk]], after: PointKey | None
) -> AsyncGenerator[bytes, None]:
    """The chunks ``read_after`` returns, from the one after ``after`` until it says the end
    (no text, or no key to continue after)."""

    def start(key: PointKey | None) -> "asyncio.Future[Chunk]":
        return asyncio.ensure_future(read_after(key))

    pending = start(after)
    try:
        while True:
            chunk, after_next = await pending
            if chunk is None:
                return
            if after_next is not None:
                pending = start(after_next)
            yield chunk.encode()
            if after_next is None:
                return
    finally:
        pending.cancel()  # the client went away: no one wants the next chunk
