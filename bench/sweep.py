"""Cold scans of many workspaces, to find the one a rule handles pathologically slowly.

usage: python bench/sweep.py WORKSPACE [WORKSPACE ...] [--timeout SECONDS]

Each workspace is scanned once with every default rule (`--workspace --no-cache`, JSON to a
temporary file), one after the other; the table gives the wall time, the megabytes of `.rs`
files, the time per megabyte and the exit code, slowest per megabyte first. A small workspace
costs mostly the start-up (about 0.5 s); one well above the others per megabyte is worth a
per-rule profile. A workspace is any folder with a `Cargo.toml`: a clone, or a commit's Rust
sources and manifests written by `../shared/corpus/checkout.py MIRRORS OUT --repo OWNER/NAME`
(docs/performance.md). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sweep:
    name: str
    seconds: float
    megabytes: float
    exit_code: int
    findings: int
    problems: int

    @property
    def ms_per_mb(self) -> float:
        return 1000 * self.seconds / max(self.megabytes, 0.01)


def rust_megabytes(workspace: Path) -> float:
    total = 0
    for folder, folders, files in os.walk(workspace):
        folders[:] = [f for f in folders if f not in ("target", ".git")]
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in files if f.endswith(".rs"))
    return total / 1e6


def scan(workspace: Path, timeout: float) -> Sweep:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-P", "-m", "unsound", "--workspace", "-q", "--no-cache"]
        command += ["--format", "json", "-o", str(report), str(workspace)]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = -1
        seconds = time.perf_counter() - start
        found = json.loads(report.read_text()) if report.exists() else {}
    return Sweep(
        workspace.name,
        seconds,
        rust_megabytes(workspace),
        code,
        len(found.get("findings", [])),
        len(found.get("problems", [])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", nargs="+", type=Path)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    rows = []
    for workspace in args.workspaces:
        row = scan(workspace.resolve(), args.timeout)
        print(f"{row.name}: {row.seconds:.2f} s, exit {row.exit_code}", file=sys.stderr)
        rows.append(row)
    print("| workspace | cold | MB of .rs | ms per MB | exit | findings | problems |")
    print("|---|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: -r.ms_per_mb):
        print(
            f"| {row.name} | {row.seconds:.2f} s | {row.megabytes:.1f} | {row.ms_per_mb:.0f} "
            f"| {row.exit_code} | {row.findings} | {row.problems} |"
        )


if __name__ == "__main__":
    main()
