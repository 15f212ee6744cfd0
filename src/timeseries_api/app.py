"""``create_app(settings)`` builds the ASGI app; wiring only."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import __version__
from .api import device_keys, influx, seed, series_edit, series_reads, thingspeak, thingspeak_fields
from .api.docs import install_docs
from .api.errors import install_error_handlers
from .api.limits import BodySizeLimit
from .api.openapi import honest_openapi
from .api.security_headers import HTMLSecurityHeaders
from .config import Settings
from .context import AppContext
from .logs import install_redaction
from .runtime import tune_garbage_collector
from .storage import Storage, open_storage
from .users import UsersFile

log = logging.getLogger(__name__)

# Starlette tries an app's routes in order, at about a microsecond each: the writes devices send
# all day are tried first (ThingSpeak's /update came 24th). None of them shares its path with a
# route it now precedes, so no request changes hands; the documentation keeps the modules' order.
DEVICE_WRITES = frozenset({"/point/new", "/write", "/api/v2/write", "/update", "/update.json"})


def create_app(settings: Settings, storage: Storage | None = None) -> FastAPI:
    """The timeseries-api application for ``settings`` (storage opens when the app starts)."""
    storage = storage or open_storage(
        settings.database,
        sqlite_synchronous=settings.sqlite_synchronous,
        max_queued_writes=settings.max_queued_writes,
    )
    context = AppContext(
        settings=settings,
        storage=storage,
        users=UsersFile(settings.users),
        time_window=settings.time_window(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await storage.open()
        try:
            yield
        finally:
            await storage.close()

    app = FastAPI(
        title="timeseries-api",
        version=__version__,
        description="A dead simple API to store time series collected by IoT devices.",
        lifespan=lifespan,
        # FastAPI's OpenTelemetry hooks cost ~10% of a small request even with no provider set.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # FastAPI's own pages load their scripts from a CDN; ours are served locally.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    install_redaction()
    install_error_handlers(app)
    # Routes go straight onto the app's router: include_router() adds a matching layer that
    # costs ~10% of a small request (docs/benchmarks.md).
    for module in (
        seed,
        series_reads,
        series_edit,
        influx,
        device_keys,
        thingspeak_fields,
        thingspeak,
    ):
        app.router.routes.extend(module.router.routes)
    install_docs(app)
    honest_openapi(app, list(app.router.routes))
    app.router.routes.sort(key=lambda route: getattr(route, "path", None) not in DEVICE_WRITES)
    # Our own limit, not FastAPI's max_body_size: that one answers a declared oversize body in
    # plain text, and every error of ours must be {"message": ...}.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HTMLSecurityHeaders)
    return app


def app_from_environment() -> FastAPI:
    """Factory for uvicorn worker processes: settings come from ``TIMESERIES_*`` variables."""
    app = create_app(Settings())
    tune_garbage_collector()
    return app
