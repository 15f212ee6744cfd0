"""The users file: the seed's format, hand-editable while the server runs, and the CLI for it."""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import ALICE_TOKEN, ROBIN_TOKEN, Server, start_server


def write_users(path: Path, users: dict[str, dict[str, object]]) -> None:
    # A new mtime/size even within one clock tick: the server watches both.
    path.write_text(json.dumps(users))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def eventually(check: Callable[[], bool], seconds: float = 5) -> None:
    """The server looks at the users file once a second: wait for it to notice an edit."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the edit never took effect"
        time.sleep(0.1)


def new_series(url: str, token: str) -> httpx.Response:
    return httpx.put(
        url + "/series/new", json={"token": token, "device_desc": "d", "device_id": "i"}
    )


def test_edits_take_effect_without_a_restart(server: Server, users_path: Path) -> None:
    series_id = new_series(server.url, ROBIN_TOKEN).json()
    rotated = "robin-rotated-token-9876543210"
    write_users(
        users_path,
        {
            rotated: {"name": "Robin S.", "id": 1},  # same id: still owns series 1
            "carol-token-0123456789abcdef": {"name": "Carol", "id": 3},
        },
    )

    eventually(lambda: new_series(server.url, ROBIN_TOKEN).status_code == 401)  # old token revoked
    assert new_series(server.url, ALICE_TOKEN).status_code == 401  # Alice removed
    assert new_series(server.url, "carol-token-0123456789abcdef").status_code == 201
    point = httpx.put(
        server.url + "/point/new",
        json={"token": rotated, "series_id": series_id, "fields": {"v": 1}},
    )
    assert point.status_code == 201, "ownership follows the user id across a token rotation"
    assert httpx.get(server.url + "/series").json()[str(series_id)]["user"] == "Robin S."


def test_a_broken_edit_keeps_the_last_good_users(server: Server, users_path: Path) -> None:
    users_path.write_text('{"half-written": {"name": ')
    assert new_series(server.url, ROBIN_TOKEN).status_code == 201
    assert "users" in server.log.read_text()


def test_users_add_creates_an_owner_only_file_with_a_working_token(
    tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "etc" / "users.json"
    result = subprocess.run(
        [sys.executable, "-m", "timeseries_api.cli", "users", "add", "Robin", "--users", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.strip()
    assert len(token) >= 40
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {token: {"name": "Robin", "id": 1}}

    second = subprocess.run(
        [sys.executable, "-m", "timeseries_api.cli", "users", "add", "Alice", "--users", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    listing = subprocess.run(
        [sys.executable, "-m", "timeseries_api.cli", "users", "list", "--users", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert listing.splitlines() == ["1\tRobin", "2\tAlice"]
    assert token not in listing and second not in listing

    running = start_server(tmp_path, database_url, path, env=None)
    try:
        assert new_series(running.url, second).status_code == 201
    finally:
        running.stop()


def test_serve_without_a_users_file_creates_one_and_shows_the_token_once(
    tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "fresh" / "users.json"
    running = start_server(tmp_path, database_url, path, env={"USER": "newcomer"})
    try:
        output = running.log.read_text()
        token = re.search(r"^\s+(\S{40,})$", output, re.MULTILINE)
        assert token, output
        assert "newcomer" in output
        assert new_series(running.url, token.group(1)).status_code == 201
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        running.stop()


def test_serve_explains_what_to_do_when_the_users_file_cannot_be_created(
    tmp_path: Path, database_url: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as a user who can write anywhere (root)")
    result = subprocess.run(
        [sys.executable, "-m", "timeseries_api.cli", "serve", "--users", str(locked / "u.json"),
         "--database", database_url],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "users add" in result.stderr and "--users ./users.json" in result.stderr


def test_serve_explains_what_to_do_when_the_users_file_is_in_a_file_path(
    tmp_path: Path, database_url: str
) -> None:
    # Works as root too: a regular file where a directory should be.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "timeseries_api.cli", "serve", "--users",
         str(blocker / "users.json"), "--database", database_url],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    assert "cannot be created" in result.stderr and "users add" in result.stderr


def test_a_users_file_readable_by_others_is_warned_about(
    tmp_path: Path, database_url: str, users_path: Path
) -> None:
    users_path.chmod(0o644)
    running = start_server(tmp_path, database_url, users_path, env=None)
    running.stop()
    assert "chmod 600" in running.log.read_text()
