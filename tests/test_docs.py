"""Every command of the CLI is documented in the README (as sqlite-utils checks its own)."""

from pathlib import Path

from desktop_app.cli.parser import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme():
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"| `{name}" in README, f"README does not document `{name}`"


def test_every_command_has_help():
    for name, sub in build_parser()._subparsers._group_actions[0].choices.items():
        assert sub.format_help().strip(), name
