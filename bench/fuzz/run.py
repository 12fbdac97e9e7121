#!/usr/bin/env python3
"""The long fuzzing run: the CI fuzz targets (`tests/robustness/robustness_targets.py`) for an hour.

usage: bench/fuzz/run.py [--minutes 60] [--round 60] [--out DIR] [--target rules|manifest|source]
                        [--max-repeat 3000] [--input-timeout 20]

CI runs each target for a few dozen examples; bugs that need thousands of inputs show up only in a
long run. Each round runs one target for `--round` seconds in a child process, so that a real
process death (a segfault in the native parser) is caught and attributed instead of ending the
campaign: the child writes each input to `DIR/current-<target>.bin` before trying it, and the
parent keeps that file when the child dies. A failure does not stop the run (hypothesis would stop
and shrink at the first one): each distinct failure (exception type and the frame it came from)
is saved once with its input, and counted every time. A hang is a failure too: each input gets
`--input-timeout` seconds. At the end the figures are printed and written to `DIR/summary.json`,
for docs/reliability.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TARGET_NAMES = ("rules", "manifest", "source")


class InputTimeout(Exception):
    """Raised by the alarm when one input takes longer than its budget."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise InputTimeout("input took longer than its time budget")


def _signature(error: BaseException) -> str:
    """Exception type plus the innermost frame inside `unsound/`: one entry per distinct bug."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/unsound/" in f.filename.replace(os.sep, "/")]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    place = f"{Path(where.filename).name}:{where.lineno}:{where.name}" if where else "?"
    first_line = str(error).splitlines()[0][:120] if str(error) else ""
    if isinstance(error, AssertionError):
        place += " " + first_line  # the scan's own "gave up on the file" message names the bug
    return f"{type(error).__name__} at {place}"


def worker(target: str, seconds: float, out: Path, input_timeout: float) -> None:
    """Run one target for `seconds`; write counts and failures to `out/round-<pid>.json`."""
    sys.path.insert(0, str(ROOT / "tests" / "robustness"))
    from hypothesis import HealthCheck, given, settings
    from robustness_targets import TARGETS

    check, strategy = TARGETS[target]
    current = out / f"current-{target}.bin"
    stats: dict[str, Any] = {"target": target, "inputs": 0, "failures": {}}
    deadline = time.monotonic() + seconds
    signal.signal(signal.SIGALRM, _on_alarm)

    def one(value: object) -> None:
        if time.monotonic() > deadline:
            return
        raw = value if isinstance(value, bytes) else repr(value).encode("utf-8", "replace")
        current.write_bytes(raw)
        stats["inputs"] += 1
        signal.setitimer(signal.ITIMER_REAL, input_timeout)
        try:
            check(value)
        except Exception as error:  # every escape is what the campaign looks for
            _record(stats, out, target, _signature(error), raw, error)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    run = settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(given(strategy())(one))
    while time.monotonic() < deadline:
        run()
    current.unlink(missing_ok=True)
    (out / f"round-{os.getpid()}.json").write_text(json.dumps(stats), encoding="utf-8")


def _record(
    stats: dict[str, Any], out: Path, target: str, signature: str, raw: bytes, error: BaseException
) -> None:
    entry = stats["failures"].setdefault(signature, {"count": 0, "file": None})
    entry["count"] += 1
    if entry["file"] is None:
        digest = hashlib.sha256(signature.encode()).hexdigest()[:12]
        path = out / f"failure-{target}-{digest}.bin"
        path.write_bytes(raw)
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        path.with_suffix(".txt").write_text(f"{signature}\n\n{trace}", encoding="utf-8")
        entry["file"] = str(path)


def campaign(minutes: float, round_seconds: float, out: Path, targets: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    end = time.monotonic() + minutes * 60
    totals: dict[str, dict[str, Any]] = {
        name: {"inputs": 0, "failures": {}, "deaths": 0, "rounds": 0} for name in targets
    }
    index = 0
    while time.monotonic() < end:
        target = targets[index % len(targets)]
        index += 1
        seconds = min(round_seconds, max(1.0, end - time.monotonic()))
        before = set(out.glob("round-*.json"))
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                target,
                "--seconds",
                str(seconds),
                "--out",
                str(out),
                "--max-repeat",
                os.environ["UNSOUND_FUZZ_MAX_REPEAT"],
            ],
            check=False,
        )
        total = totals[target]
        total["rounds"] += 1
        if child.returncode != 0:
            total["deaths"] += 1
            current = out / f"current-{target}.bin"
            if current.exists():
                current.rename(out / f"death-{target}-{int(time.time())}.bin")
            print(f"worker for {target} died with {child.returncode}", file=sys.stderr)
            continue
        for path in sorted(set(out.glob("round-*.json")) - before):
            stats = json.loads(path.read_text(encoding="utf-8"))
            path.unlink()
            total["inputs"] += stats["inputs"]
            for signature, entry in stats["failures"].items():
                merged = total["failures"].setdefault(
                    signature, {"count": 0, "file": entry["file"]}
                )
                merged["count"] += entry["count"]
        _write_summary(out, minutes, totals)
    _write_summary(out, minutes, totals)
    print(json.dumps(totals, indent=2))
    return 1 if any(t["failures"] or t["deaths"] for t in totals.values()) else 0


def _write_summary(out: Path, minutes: float, totals: dict[str, dict[str, Any]]) -> None:
    summary = {"minutes": minutes, "targets": totals}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--round", type=float, default=60.0, help="seconds per worker round")
    parser.add_argument("--out", type=Path, default=Path("/tmp/unsound-fuzz"))
    parser.add_argument("--target", choices=TARGET_NAMES, action="append")
    parser.add_argument("--input-timeout", type=float, default=20.0)
    parser.add_argument("--worker", choices=TARGET_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-repeat", type=int, default=3000, help="copies of a token one mutation may splice in"
    )
    args = parser.parse_args()
    os.environ["UNSOUND_FUZZ_MAX_REPEAT"] = str(args.max_repeat)
    if args.worker:
        worker(args.worker, args.seconds, args.out, args.input_timeout)
        return 0
    return campaign(args.minutes, args.round, args.out, args.target or list(TARGET_NAMES))


if __name__ == "__main__":
    sys.exit(main())
