"""`cargo unsound init --github [--force] [PATH]`: write a code-scanning workflow.

The workflow lands in the repository's `.github/workflows/unsound.yml` (the repository root is
found by walking up to `.git`, as for SARIF paths), and scans the workspace at PATH relative to
it, so a Rust workspace in a monorepo's subfolder works. It calls `cargo-unsound` directly, never
`cargo unsound`: a `[alias] unsound = …` in the scanned tree's `.cargo/config.toml` would shadow
the subcommand and run whatever a pull request put there. It pins the version that wrote it, so a
new release never changes CI results unannounced. An existing file is kept unless `--force`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from unsound import __version__
from unsound.cli.entry import invoke
from unsound.errors import UsageError
from unsound.model import ExitCode

WORKFLOW_PATH = Path(".github/workflows/unsound.yml")

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@app.command(context_settings={"help_option_names": ["-h", "--help"]})
def init(
    path: Annotated[
        Path | None, typer.Argument(help="The Rust workspace to scan (default: cwd)")
    ] = None,
    github: Annotated[
        bool, typer.Option("--github", help="Write .github/workflows/unsound.yml")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing workflow")] = False,
) -> int:
    """Write CI configuration for cargo-unsound."""
    from unsound.report.output import write_output

    if not github:
        raise UsageError("say what to set up", hint="`cargo unsound init --github`")
    workspace = (path or Path.cwd()).resolve()
    if workspace.is_file():
        workspace = workspace.parent
    if not workspace.is_dir():
        raise UsageError("no such folder", path=workspace)
    root = repository_root(workspace)
    target = root / WORKFLOW_PATH
    if target.exists() and not force:
        raise UsageError(
            "the workflow already exists", path=target, hint="pass --force to overwrite it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_output(workflow(workspace.relative_to(root).as_posix()), str(target))
    print(f"wrote {target}", file=sys.stderr)
    return ExitCode.CLEAN


def repository_root(start: Path) -> Path:
    """The folder holding `.git` above `start`, else `start` itself."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def workflow(scan_path: str, version: str = __version__) -> str:
    """The workflow text; `scan_path` is the workspace relative to the repository root."""
    target = "" if scan_path in ("", ".") else f" {_shell_word(scan_path)}"
    category = "cargo-unsound" if not target else f"cargo-unsound/{scan_path}"
    return f"""\
# Written by `cargo unsound init --github` (cargo-unsound {version}).
# Scans for unsound `unsafe` without compiling, and shows findings in the Security tab and on
# pull requests. Nothing from the repository is built or run.
name: cargo-unsound

on:
  push:
    branches: [main, master]
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

jobs:
  cargo-unsound:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write  # upload SARIF to code scanning
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install cargo-unsound
        run: python -m pip install "cargo-unsound=={version}"
      # `cargo-unsound`, not `cargo unsound`: an [alias] in the tree's .cargo/config.toml could
      # shadow the cargo subcommand. --fail-on never: findings go to code scanning, and the job
      # fails only when the scan itself does (exit 3: a file could not be scanned).
      - name: Scan
        run: |
          cargo-unsound{target} --workspace --format sarif --output unsound.sarif --fail-on never
      - name: Upload to code scanning
        if: ${{{{ !cancelled() && hashFiles('unsound.sarif') != '' }}}}
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: unsound.sarif
          category: {json.dumps(category)}
"""


def _shell_word(text: str) -> str:
    """A path as one shell word; plain paths stay readable."""
    if all(c.isalnum() or c in "/._-" for c in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def run_init(args: list[str]) -> int:
    return invoke(typer.main.get_command(app), args, "cargo unsound init")
