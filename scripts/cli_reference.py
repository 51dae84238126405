"""Writes docs/cli-reference.md from the commands' own ``--help`` (run it after changing
an option; tests/test_cli.py checks the file is current).

    python scripts/cli_reference.py            # rewrite docs/cli-reference.md
    python scripts/cli_reference.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "cli-reference.md"
WIDTH = "88"


def _help(app, args: list[str]) -> str:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*args, "--help"], prog_name="storyline",
                                env={"COLUMNS": WIDTH, "TERM": "dumb", "NO_COLOR": "1"})
    return result.stdout.rstrip()


def _commands(app) -> list[list[str]]:
    """Every command path, as typed: ``[["ingest"], ..., ["eval", "clusters"], ...]``."""
    import typer

    group = typer.main.get_command(app)
    out = []
    for name, command in group.commands.items():
        out.append([name])
        for sub in getattr(command, "commands", {}):
            out.append([name, sub])
    return out


def reference() -> str:
    from storyline.cli import app

    parts = ["# CLI reference", "",
             "Made by `python scripts/cli_reference.py` from each command's `--help`; "
             "docs/cli.md has the exit codes, docs/glossary.md the words.", "",
             "## storyline", "", "```text", _help(app, []), "```", ""]
    for path in _commands(app):
        parts += [f"## storyline {' '.join(path)}", "", "```text", _help(app, path), "```", ""]
    return "\n".join(parts)


def main() -> int:
    text = reference()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python scripts/cli_reference.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
