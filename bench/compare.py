#!/usr/bin/env python3
"""Compare revisions of cargo-unsound with each other and with ast-grep, alternating their runs.

usage: bench/compare.py WORKSPACE REVISION [REVISION ...] [--runs 9] [--jobs N] [--markdown OUT]

A change's effect on speed is often smaller than the host's drift between two benchmark runs
(ast-grep's own median moved 1.34 → 1.85 s on wasmtime within two hours on one machine). Here
each round runs every revision cold (`--no-cache`, every built-in rule, JSON to nowhere) and
then ast-grep (`run -p 'unsafe { $$$ }'`), so drift hits them alike; the table gives each one's
median wall and CPU time and its ratio to ast-grep and to the first revision. A REVISION is
anything `git archive` takes (a commit, `HEAD~3`), or `worktree`; each is snapshotted and
byte-compiled with its built-in rules compiled, as `bench/run.py` does.

This script never runs in the test suite: speed is measured here, correctness in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # the benchmark's own helpers, beside this script
    AST_GREP_RULE,
    Series,
    cold_command,
    measure,
    revision,
    snapshot_code,
    tool,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("revisions", nargs="+", help="git revisions of unsound/, or 'worktree'")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    workspace = args.workspace.resolve()
    if not workspace.is_dir():
        raise SystemExit(f"{args.workspace} is not a folder: pass the folder of a Rust workspace")
    codes = []
    for name in args.revisions:
        code = Path(tempfile.mkdtemp(prefix="unsound-compare-code-"))
        snapshot_code(name, into=code)
        codes.append((name, code))
    ast_grep = tool("ast-grep", "ast-grep")
    ast_grep_version = subprocess.run(
        [str(ast_grep), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    command = cold_command(args, "--workspace", str(workspace))
    series = {name: Series(f"cargo-unsound at {revision(name)}, cold") for name, _ in codes}
    grep = Series("ast-grep `unsafe { $$$ }`")
    for run in range(args.runs):
        for name, code in codes:
            series[name].samples.append(measure(command, code))
        grep.samples.append(
            measure([str(ast_grep), *AST_GREP_RULE, "-j", str(args.jobs), str(workspace)])
        )
        print(f"round {run + 1}/{args.runs} done", file=sys.stderr)
    first = series[codes[0][0]]
    lines = [
        f"# cargo-unsound revisions compared on {workspace.name}",
        "",
        f"- machine: {platform.system()} {platform.release()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}",
        f"- load average at start: {load_at_start}",
        f"- {ast_grep_version}; date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{args.runs} alternating rounds, -j {args.jobs}, every built-in rule, cold.",
        "",
        "| what | wall median | wall min–max | CPU median | × ast-grep | × first |",
        "|---|---|---|---|---|---|",
    ]
    for s in [*series.values(), grep]:
        low, high = s.spread()
        lines.append(
            f"| {s.name} | {s.median():.2f} s | {low:.2f}–{high:.2f} s | {s.median('cpu'):.2f} s "
            f"| {s.median() / grep.median():.2f} | {s.median() / first.median():.2f} |"
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n".join([*lines, "", f"Load average at the end: {load}.", ""])
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
