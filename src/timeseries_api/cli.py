"""The ``timeseries-api`` command: thin shells over library calls."""

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from . import keys, serving
from .api.protocol import limited_http_protocol
from .config import Settings
from .domain import DeviceKey
from .errors import BadInput, TimeseriesError
from .storage import Storage, open_storage
from .storage.base import parse_database_url
from .storage.seed_database import SeedDatabase
from .storage.transfer import CopyReport, copy_database
from .timeparse import format_us
from .users import UsersFile, UsersFileError, add_user, list_users, readable_by_others

log = logging.getLogger("timeseries_api")
T = TypeVar("T")


def _settings(**given: Any) -> Settings:
    """Settings from the flags the user actually gave, then the environment, then defaults."""
    return Settings(**{name: value for name, value in given.items() if value is not None})


def _ensure_users_file(path: Path) -> None:
    """A newcomer without a users file gets one, with a first user whose token is shown once."""
    if path.exists():
        if readable_by_others(path):
            click.secho(
                f"warning: {path} is readable by other users of this machine; tokens are "
                f"secrets: chmod 600 {path}",
                fg="yellow",
                err=True,
            )
        return
    try:
        user, token = add_user(path, os.environ.get("USER") or "admin")
    except OSError as exc:
        raise click.ClickException(
            f"there is no users file at {path} and it cannot be created ({exc.strerror}).\n"
            f"Either create it as root:  sudo timeseries-api users add YOUR_NAME --users {path}\n"
            f"or keep it elsewhere:      timeseries-api serve --users ./users.json"
        ) from None
    click.echo(
        f"Created the users file {path} with user {user.name!r} (id {user.id}).\n"
        f"Its token, shown only this once:\n\n    {token}\n\n"
        f"Add more users with: timeseries-api users add NAME --users {path}",
        err=True,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="timeseries-api")
def main() -> None:
    """A dead simple API to store time series collected by IoT devices."""


@main.command()
@click.option(
    "--host",
    help="Address to listen on; 0.0.0.0 to accept devices on the LAN. "
    "[env TIMESERIES_HOST; default 127.0.0.1]",
)
@click.option("--port", type=int, help="TCP port. [env TIMESERIES_PORT; default 8000]")
@click.option(
    "--database",
    metavar="URL",
    help="sqlite:///relative.sqlite, sqlite:////abs/path "
    "or postgresql://user@host/db. [env TIMESERIES_DATABASE; default "
    "sqlite:///timeseries.sqlite]",
)
@click.option(
    "--users",
    type=click.Path(path_type=Path),
    help="The users file (tokens). [env TIMESERIES_USERS; default /etc/timeseries-api/users.json]",
)
@click.option("--workers", type=int, help="Server processes. [env TIMESERIES_WORKERS; default 1]")
@click.option(
    "--max-body-bytes",
    type=int,
    help="Larger request bodies get 413. [env TIMESERIES_MAX_BODY_BYTES; default 10 MiB]",
)
@click.option(
    "--min-timestamp",
    metavar="ISO8601",
    help="Device timestamps before this are refused (a clock never set sends 1970). "
    "[env TIMESERIES_MIN_TIMESTAMP; default 2000-01-01T00:00:00Z]",
)
@click.option(
    "--max-future-seconds",
    type=int,
    help="Device timestamps further ahead of the server clock are refused. "
    "[env TIMESERIES_MAX_FUTURE_SECONDS; default 86400]",
)
@click.option(
    "--max-queued-writes",
    type=int,
    help="Requests waiting for the disk beyond this get 503 with Retry-After at once. "
    "[env TIMESERIES_MAX_QUEUED_WRITES; default 10000]",
)
@click.option(
    "--request-timeout",
    type=float,
    metavar="SECONDS",
    help="Seconds a client has to send a whole request (headers and body); slower clients "
    "get 408 and are disconnected. [env TIMESERIES_REQUEST_TIMEOUT; default 60]",
)
@click.option(
    "--sqlite-synchronous",
    type=click.Choice(["full", "normal"]),
    help="full: every "
    "201 survives power loss; normal: survives crashes, faster. "
    "[env TIMESERIES_SQLITE_SYNCHRONOUS; default full]",
)
@click.option(
    "--private-reads/--public-reads",
    default=None,
    help="Require a valid token for every GET (Bearer header or ?token=), for a private "
    "deployment. [env TIMESERIES_PRIVATE_READS; default off: reads are open, as in the seed]",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request. [env TIMESERIES_ACCESS_LOG; default off]",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="[env TIMESERIES_LOG_LEVEL; default info]",
)
def serve(**flags: Any) -> None:
    """Run the HTTP server."""
    try:
        settings = _settings(**flags)
        parse_database_url(settings.database)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except BadInput as exc:
        raise click.ClickException(exc.message) from None
    _ensure_users_file(settings.users)
    # Worker processes rebuild the settings from the environment: hand them the resolved values.
    for name, value in settings.model_dump().items():
        os.environ[f"TIMESERIES_{name.upper()}"] = str(value)
    click.echo(
        f"timeseries-api on http://{settings.host}:{settings.port} "
        f"database {settings.database} users {settings.users}",
        err=True,
    )
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "access_log": settings.access_log,
        "log_level": settings.log_level,
        "proxy_headers": True,
        "server_header": False,
        "http": limited_http_protocol(settings.request_timeout),
    }
    serving.run("timeseries_api.app:app_from_environment", options)


@main.group()
def users() -> None:
    """Manage the users file (the seed's users.json)."""


_users_option = click.option(
    "--users",
    "path",
    type=click.Path(path_type=Path),
    help="The users file. [env TIMESERIES_USERS; default /etc/timeseries-api/users.json]",
)


@users.command("add")
@click.argument("name")
@_users_option
def users_add(name: str, path: Path | None) -> None:
    """Add a user with a fresh token (creates the file, owner-only, if needed)."""
    path = path or Settings().users
    try:
        user, token = add_user(path, name)
    except (UsersFileError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Added {user.name!r} (id {user.id}) to {path}. Token, shown only this once:", err=True
    )
    click.echo(token)


@users.command("list")
@_users_option
def users_list(path: Path | None) -> None:
    """List user ids and names (never tokens)."""
    path = path or Settings().users
    try:
        for user in list_users(path):
            click.echo(f"{user.id}\t{user.name}")
    except (UsersFileError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--from", "source", required=True, metavar="URL", help="The database to copy.")
@click.option("--to", "target", required=True, metavar="URL", help="The database to copy into.")
def migrate(source: str, target: str) -> None:
    """Copy every series and point from one database to another (SQLite <-> PostgreSQL).

    Ids, owners and times are kept. Stop the servers writing to the source first. The target
    must be empty or hold an earlier copy: running the command again is safe and finishes an
    interrupted copy. The counts are verified at the end.
    """
    try:
        report = asyncio.run(_migrate(source, target))
    except TimeseriesError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Copied {report.series} series and {report.points} points to {target}.")


@main.command("import-seed")
@click.option(
    "--from", "source", required=True, type=click.Path(path_type=Path),
    help="The seed's original database file (SQLite).",
)  # fmt: skip
@click.option("--to", "target", metavar="URL", help="The database to copy into, as for serve.")
@click.option(
    "--users", type=click.Path(path_type=Path),
    help="The users.json the original server used: series owners are found by their tokens. "
    "[env TIMESERIES_USERS; default /etc/timeseries-api/users.json]",
)  # fmt: skip
@click.option(
    "--timezone", "zone", metavar="ZONE",
    help="The time zone the original server ran in (it wrote naive local times), e.g. "
    "Europe/Paris. [default: this machine's]",
)  # fmt: skip
def import_seed(source: Path, target: str | None, users: Path | None, zone: str | None) -> None:
    """Copy a database of the seed's original implementation into this server's.

    Series and point ids are kept, so devices and scripts keep working unchanged; owners come
    from the users file, times are converted to UTC. Running it again is safe.
    """
    settings = _settings(database=target, users=users)
    try:
        report = asyncio.run(_import_seed(source, settings, _time_zone(zone)))
    except TimeseriesError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Imported {report.series} series and {report.points} points into "
               f"{settings.database}.")  # fmt: skip


def _time_zone(name: str | None) -> tzinfo:
    if name is None:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from None


async def _import_seed(path: Path, settings: Settings, zone: tzinfo) -> CopyReport:
    if not settings.users.is_file():
        raise BadInput(f"there is no users file at {settings.users}: name it with --users")
    seed = SeedDatabase(path, UsersFile(settings.users), zone)
    target = open_storage(settings.database)
    try:
        await target.open()
        try:
            return await copy_database(seed, target)
        finally:
            await target.close()
    finally:
        seed.close()


async def _migrate(source_url: str, target_url: str) -> CopyReport:
    backend, path = parse_database_url(source_url)
    if backend == "sqlite" and not Path(path).is_file():
        raise BadInput(f"there is no SQLite database at {path}")
    source, target = open_storage(source_url), open_storage(target_url)
    await source.open()
    try:
        await target.open()
        try:
            total = await source.count_points()
            with click.progressbar(length=total, label="Copying points", file=sys.stderr) as bar:
                return await copy_database(source, target, bar.update)
        finally:
            await target.close()
    finally:
        await source.close()


@main.group("keys")
def keys_group() -> None:
    """Manage the device keys of a series (acting as the series' owner)."""


_database_option = click.option(
    "--database",
    metavar="URL",
    help="The database, as for serve. [env TIMESERIES_DATABASE; default "
    "sqlite:///timeseries.sqlite]",
)


def _with_storage(database: str | None, work: Callable[[Storage], Awaitable[T]]) -> T:
    """Open the database (migrating it if needed), run ``work``, close it."""

    async def run() -> T:
        storage = open_storage(database or Settings().database)
        await storage.open()
        try:
            return await work(storage)
        finally:
            await storage.close()

    try:
        return asyncio.run(run())
    except TimeseriesError as exc:
        raise click.ClickException(exc.message) from None


async def _owner_of(storage: Storage, series_id: int) -> int:
    return (await storage.get_series(series_id)).owner_id


@keys_group.command("create")
@click.argument("series_id", type=int)
@click.option("--read", "kind", flag_value="read", help="A read key instead of a write key.")
@click.option("--write", "kind", flag_value="write", default=True, help="A write key (default).")
@click.option("--label", default="", help="A note to recognise the key by, e.g. 'balcony ESP32'.")
@_database_option
def keys_create(series_id: int, kind: str, label: str, database: str | None) -> None:
    """Create a key for SERIES_ID and print it (shown only this once)."""

    async def create(storage: Storage) -> tuple[DeviceKey, str]:
        owner = await _owner_of(storage, series_id)
        return await keys.create_key(storage, owner, series_id, kind, label)

    key, token = _with_storage(database, create)
    click.echo(
        f"Created {key.kind} key {key.id} for series {series_id}. Key, shown only this once:",
        err=True,
    )
    click.echo(token)


@keys_group.command("list")
@click.argument("series_id", type=int)
@_database_option
def keys_list(series_id: int, database: str | None) -> None:
    """List the keys of SERIES_ID: id, kind, creation time, label (never the keys)."""

    async def listing(storage: Storage) -> list[DeviceKey]:
        return await storage.list_device_keys(await _owner_of(storage, series_id), series_id)

    for key in _with_storage(database, listing):
        click.echo(f"{key.id}\t{key.kind}\t{format_us(key.created_us)}\t{key.label}")


@keys_group.command("revoke")
@click.argument("series_id", type=int)
@click.argument("key_id", type=int)
@_database_option
def keys_revoke(series_id: int, key_id: int, database: str | None) -> None:
    """Revoke key KEY_ID of SERIES_ID; it stops working at once, on every server process."""

    async def revoke(storage: Storage) -> None:
        owner = await _owner_of(storage, series_id)
        await storage.revoke_device_key(owner, series_id, key_id)

    _with_storage(database, revoke)
    click.echo(f"Revoked key {key_id} of series {series_id}.", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
