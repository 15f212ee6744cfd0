"""Request bodies that may come gzip-compressed (InfluxDB clients and Telegraf send them so)."""

import zlib

from starlette.requests import Request

from ..errors import BadInput, PayloadTooLarge

# A compressed body may expand to this many times the body limit, and no further: a small
# "gzip bomb" must not be able to fill the server's memory.
EXPANSION_LIMIT = 10


async def request_body(request: Request, max_bytes: int) -> bytes:
    """The body, decompressed when ``Content-Encoding: gzip``."""
    body = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding != "gzip":
        raise BadInput(f"unsupported Content-Encoding {encoding[:30]!r}: send gzip or nothing")
    limit = max_bytes * EXPANSION_LIMIT
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        expanded = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadInput(f"the body is not valid gzip: {exc}") from None
    if len(expanded) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the decompressed body is larger than {limit} bytes")
    if not inflater.eof:
        raise BadInput("the gzip body is truncated")
    return expanded
