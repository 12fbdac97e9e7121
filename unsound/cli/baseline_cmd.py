"""`cargo unsound baseline [scan options] [--output unsound-baseline.json]`.

Runs the scan command itself with a `BaselineRequest` marker, so every scan option (packages,
rules, `--select`, `--all-files`) means exactly the same here, and writes the findings as a
baseline file instead of a report. `--format` and `--baseline` are refused.
"""

from __future__ import annotations

import typer

from unsound.cli.scan_extras import BaselineRequest


def run_baseline(args: list[str]) -> int:
    from unsound.cli.scan_cmd import app

    command = typer.main.get_command(app)
    result = command.main(
        args=args,
        prog_name="cargo unsound baseline",
        standalone_mode=False,
        obj=BaselineRequest(),
    )
    return int(result) if isinstance(result, int) else 0
