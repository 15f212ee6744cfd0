"""The ``timeseries-api`` command: thin shells over library calls."""

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import uvicorn

from .config import Settings
from .errors import BadInput
from .storage.base import parse_database_url
from .users import UsersFileError, add_user, list_users, readable_by_others

log = logging.getLogger("timeseries_api")


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
    uvicorn.run(
        "timeseries_api.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
        log_level=settings.log_level,
        proxy_headers=True,
        server_header=False,
    )


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
