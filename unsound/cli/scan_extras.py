"""What issue 5 adds around a scan: baselines in and out, review notes, SARIF limits on stderr.

Kept out of `scan_cmd` so the scan command stays a thin list of options. Only the CLI prints;
these helpers return what to print.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from unsound.engine.baseline import DEFAULT_BASELINE, Baseline, filter_new, load_baseline
from unsound.errors import UsageError
from unsound.model import ExitCode, Report


@dataclass(frozen=True)
class BaselineRequest:
    """Passed as the click context's `obj` by `cargo unsound baseline`: write, do not report.

    The baseline command reuses the scan command whole (every selection option, the same
    pipeline), and this marker is how the scan knows to write a baseline instead of a report.
    """


def prepare(mode: object, baseline: Path | None, output_format: str) -> Baseline | None:
    """Check the options issue 5 added and load the baseline before anything is scanned.

    Loading first makes a missing or broken baseline an exit 2 without a wasted scan.
    """
    if isinstance(mode, BaselineRequest):
        if baseline is not None:
            raise UsageError(
                "`cargo unsound baseline` writes a baseline; it does not read one",
                hint="drop --baseline; the new file lists every current finding",
            )
        if output_format != "human":
            raise UsageError(
                "`cargo unsound baseline` always writes the baseline format",
                hint="drop --format; use --output to choose the file",
            )
        return None
    return load_baseline(baseline) if baseline is not None else None


def reviewed(
    report: Report, select: Sequence[str], ignore: Sequence[str], accepted: Baseline | None
) -> Report:
    """The report with the baseline applied and the configuration that hid findings noted."""
    notes = list(report.configuration_notes)
    if select:
        notes.append("--select limits the scan to: " + ", ".join(select))
    if accepted is not None:
        new, count = filter_new(report.findings, accepted)
        report = dataclasses.replace(report, findings=tuple(new), baselined=count)
    return dataclasses.replace(
        report,
        disabled_rules=tuple(sorted({*report.disabled_rules, *ignore})),
        configuration_notes=tuple(notes),
    )


def write_baseline(report: Report, output: str | None, quiet: bool) -> int:
    """Write the baseline file; 0, or 3 when a file was not scanned (the baseline lacks it)."""
    from unsound.engine.baseline import render_baseline
    from unsound.report.output import write_output

    destination = output or DEFAULT_BASELINE
    write_output(render_baseline(report.findings, report.tool_version), destination)
    if not quiet:
        count = len(report.findings)
        noun = "finding" if count == 1 else "findings"
        print(f"wrote {count} {noun} to the baseline {destination}", file=sys.stderr)
    if not report.complete:
        print(
            "error: some files were not scanned, so their findings are not in the baseline",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL
    return ExitCode.CLEAN


def sarif_with_notes(
    report: Report, category: str | None, include_suppressed: bool
) -> tuple[str, list[str]]:
    """The SARIF text, and warnings for stderr when GitHub's limits dropped results."""
    from unsound.report.sarif import MAX_GZIP_BYTES, MAX_RESULTS, build_sarif

    built = build_sarif(report, category=category, include_suppressed=include_suppressed)
    notes = []
    if built.dropped_over_count:
        notes.append(
            f"warning: SARIF keeps at most {MAX_RESULTS} results (GitHub's limit); "
            f"{built.dropped_over_count} least severe left out"
        )
    if built.dropped_over_size:
        notes.append(
            f"warning: SARIF must stay under {MAX_GZIP_BYTES // (1024 * 1024)} MB gzipped "
            f"(GitHub's limit); {built.dropped_over_size} more least severe results left out"
        )
    return built.text, notes
