"""Docs that cannot drift: every setting, endpoint and command is documented."""

import re
from pathlib import Path

from fastapi.routing import APIRoute

from timeseries_api.app import create_app
from timeseries_api.cli_reference import cli_reference
from timeseries_api.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    for name in Settings.model_fields:
        assert f"TIMESERIES_{name.upper()}" in README, name
        assert f"--{name.replace('_', '-')}" in README, name


def test_every_endpoint_is_in_the_readme_or_docs(tmp_path: Path) -> None:
    documented = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    app = create_app(Settings(database=f"sqlite:///{tmp_path}/x.sqlite", users=tmp_path / "u"))
    for route in app.routes:
        if isinstance(route, APIRoute):
            path = re.sub(r"\{(\w+)\}", r"<\1>", route.path)
            assert re.search(f"`{re.escape(path)}[`?]", documented), route.path


def test_docs_cli_md_is_the_current_help_text() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference(), "run scripts/cli-docs"
