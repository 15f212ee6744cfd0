"""The command line: flags win over the environment, which wins over defaults."""

import logging

import pytest
from click.testing import CliRunner

from timeseries_api.cli import _settings, main
from timeseries_api.config import Settings
from timeseries_api.logs import RedactSecrets


def test_flags_beat_environment_beat_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().port == 8000
    monkeypatch.setenv("TIMESERIES_PORT", "9001")
    monkeypatch.setenv("TIMESERIES_DATABASE", "sqlite:///from-env.sqlite")
    settings = _settings(port=9002, database=None)
    assert settings.port == 9002
    assert settings.database == "sqlite:///from-env.sqlite"


def test_serve_help_explains_every_setting() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in result.output, name
        assert f"TIMESERIES_{name.upper()}" in result.output, name


def test_an_unsupported_database_url_is_refused_with_the_accepted_forms() -> None:
    result = CliRunner().invoke(main, ["serve", "--database", "mysql://x", "--users", "/dev/null"])
    assert result.exit_code != 0
    assert "sqlite:///" in result.output and "postgresql://" in result.output


def test_the_access_log_never_shows_tokens_in_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/write?db=x&u=robin&p=secret-token", "1.1", 204), None,
    )  # fmt: skip
    RedactSecrets().filter(record)
    assert "secret-token" not in record.getMessage()
    assert "/write?db=x&u=***&p=***" in record.getMessage()
