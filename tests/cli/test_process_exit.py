"""The executables exit without tearing the interpreter down (`entry.run`): the report is all
there, the exit code is the scan's, and a reader that goes away early costs no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"


def test_the_report_is_flushed_and_the_exit_code_kept() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "unsound", str(EXAMPLE), "--format", "json", "-q", "--no-cache"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1
    assert len(json.loads(done.stdout)["findings"]) == 9
    assert done.stderr == b""


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    scan = subprocess.Popen(
        [sys.executable, "-m", "unsound", str(EXAMPLE), "--color", "never", "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert scan.stdout is not None and scan.stderr is not None
    scan.stdout.readline()
    scan.stdout.close()  # as `| head -1` does
    assert b"Traceback" not in scan.stderr.read()
    assert scan.wait(timeout=120) == 1  # the scan's own code: findings at `error`
