"""The CLI's help text as Markdown, so docs/cli.md is generated, never hand-written."""

import click
from click.testing import CliRunner

from .cli import main


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


def cli_reference() -> str:
    """Markdown with the ``--help`` of every command."""
    runner = CliRunner()
    parts = [
        "# Command-line reference\n\n"
        "Generated from `--help` by `scripts/cli-docs`; do not edit by hand.\n"
    ]
    for path in _commands(main, []):
        result = runner.invoke(
            main, [*path, "--help"], prog_name="timeseries-api", terminal_width=100
        )
        title = " ".join(["timeseries-api", *path])
        parts.append(f"\n## `{title}`\n\n```\n{result.output.rstrip()}\n```\n")
    return "".join(parts)
