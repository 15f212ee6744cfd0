"""Security headers on every HTML response (FastAPI's /docs and /redoc today, the dashboard
tomorrow), as pure ASGI middleware: JSON answers pass through untouched."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Clickjacking: no page of ours may be framed (X-Frame-Options for old browsers, CSP for the
# rest); no MIME sniffing; no URL, which may hold a token in its query, sent as a Referer.
HTML_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]


class HTMLSecurityHeaders:
    """Add :data:`HTML_HEADERS` to responses whose content type is ``text/html``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Pages are read with GET: writes, the hot path, pass straight through.
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                    for name, value in headers
                ):
                    present = {name.lower() for name, _ in headers}
                    extra = [(n, v) for n, v in HTML_HEADERS if n not in present]
                    message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
