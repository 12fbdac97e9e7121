"""The README's two fresh-machine commands stay true: CI runs exactly the test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(python3 -m venv .*?)\n```", readme)


def test_readme_gives_the_install_and_test_commands() -> None:
    commands = _commands()
    assert len(commands) == 2
    assert "cargo unsound --manifest-path examples/seeded-workspace/Cargo.toml" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _commands()[1] in ci


def test_example_workspace_exists() -> None:
    assert (ROOT / "examples" / "seeded-workspace" / "Cargo.toml").is_file()
