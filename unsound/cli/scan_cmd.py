"""`cargo unsound [OPTIONS] [PATH]`: scan a workspace and report."""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from unsound.cli.config import load_config
from unsound.cli.entry import invoke
from unsound.cli.selection import apply_severity_overrides, known_names, select_rules
from unsound.errors import UsageError
from unsound.model import ExitCode, Report, Severity


class OutputFormat(str, Enum):
    human = "human"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    note = "note"
    never = "never"


class ColorChoice(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)

_EPILOG = (
    "Subcommands: `cargo unsound rules list|show|check|test`, `baseline`, `upload`, `init`. "
    "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input, "
    "3 internal error or a file not scanned."
)


@app.command(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
def scan(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="Workspace folder or Cargo.toml (default: cwd)")
    ] = None,
    manifest_path: Annotated[
        Path | None, typer.Option("--manifest-path", help="Path to Cargo.toml")
    ] = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="Package to scan (repeatable)")
    ] = None,
    workspace: Annotated[
        bool, typer.Option("--workspace", help="Scan every workspace member")
    ] = False,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Member to leave out (with --workspace)")
    ] = None,
    all_files: Annotated[
        bool,
        typer.Option("--all-files", help="Scan every .rs file, not only those a target reaches"),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: the machine's cores)"),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Neither read nor write the scan cache or the compiled-rules cache"
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Report format")
    ] = OutputFormat.human,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the report here ('-': stdout)")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest severity that makes the exit code 1")
    ] = FailOn.warning,
    rules: Annotated[
        list[Path] | None, typer.Option("--rules", help="Extra rule file or folder (repeatable)")
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option("--select", help="Only these rule ids or tags")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Leave out these rule ids or tags")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="SARIF automationDetails.id")
    ] = None,
    color: Annotated[ColorChoice, typer.Option("--color", help="Color output")] = (
        ColorChoice.auto
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr")] = False,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Report only findings not in this baseline file"),
    ] = None,
    include_suppressed: Annotated[
        bool,
        typer.Option("--include-suppressed", help="Write inline-suppressed results to SARIF"),
    ] = False,
) -> int:
    """Find unsound uses of `unsafe` in a Rust workspace, without compiling it."""
    from unsound.engine.manifest_memo import ManifestMemo
    from unsound.engine.progress import progress_for
    from unsound.engine.scan import scan_workspace
    from unsound.engine.workspace import find_manifest, load_workspace, select_packages
    from unsound.engine.workspace_memo import load_workspace_remembered

    if exclude and not workspace:
        raise UsageError(
            "--exclude can only be used together with --workspace", hint="add --workspace"
        )
    from unsound.cli import scan_extras
    from unsound.dsl.loader import prefetch_builtin_rules

    # Every scan needs the built-in rules: their compilation (when not cached) starts now, in
    # a forked child, while this process reads the manifests.
    prefetch_builtin_rules(cache=not no_cache)
    accepted = scan_extras.prepare(ctx.obj, baseline, output_format.value)
    manifest = find_manifest(manifest_path=manifest_path, path=path, cwd=Path.cwd())
    memo = None if no_cache else ManifestMemo.open()
    if memo is None:
        ws = load_workspace(manifest)
    else:
        ws = load_workspace_remembered(manifest, memo)
        memo.save()
    config = load_config(ws.root, known_names(cache=not no_cache))
    compiled = select_rules(
        [*(rules or []), *config.rule_paths],
        select or list(config.select),
        [*(ignore or []), *config.ignore],
        cache=not no_cache,
    )
    packages = select_packages(
        ws, packages=package or [], workspace=workspace, exclude=exclude or []
    )
    with _collector_tuned_for_scan():
        report = scan_workspace(
            ws,
            packages,
            compiled,
            all_files=all_files,
            jobs=jobs or _available_cores(),
            use_cache=not no_cache,
            progress=progress_for(sys.stderr, quiet),
        )
    report = apply_severity_overrides(report, config.severity)
    report = scan_extras.reviewed(report, select or [], ignore or [], accepted)
    report = dataclasses.replace(
        report,
        configuration_notes=(*report.configuration_notes, *config.notes()),
        disabled_rules=tuple(dict.fromkeys((*report.disabled_rules, *config.ignore))),
    )
    if isinstance(ctx.obj, scan_extras.BaselineRequest):
        return scan_extras.write_baseline(report, output, quiet)
    _emit(report, output_format, output, category, color, quiet, include_suppressed)
    return _exit_code(report, fail_on)


def _emit(
    report: Report,
    output_format: OutputFormat,
    output: str | None,
    category: str | None,
    color: ColorChoice,
    quiet: bool,
    include_suppressed: bool = False,
) -> None:
    from unsound.report.output import write_output

    notes: list[str] = []
    if output_format is OutputFormat.sarif:
        from unsound.cli.scan_extras import sarif_with_notes

        text, notes = sarif_with_notes(report, category, include_suppressed)
    elif output_format is OutputFormat.github:
        from unsound.report.github import render_github

        text = render_github(report)
    elif output_format is OutputFormat.json:
        from unsound.report.json_report import render_json

        text = render_json(report)
    else:
        from unsound.report.text import render_text

        to_terminal = output in (None, "-") and sys.stdout.isatty()
        use_color = color is ColorChoice.always or (color is ColorChoice.auto and to_terminal)
        text = render_text(report, color=use_color)
    write_output(text, output)
    if not quiet and (output_format is not OutputFormat.human or output not in (None, "-")):
        from unsound.report.text import summary_line

        print(summary_line(report), file=sys.stderr)
    if not quiet:
        from unsound.report.review import review_lines

        for line in (*notes, *review_lines(report)):
            print(line, file=sys.stderr)


def _exit_code(report: Report, fail_on: FailOn) -> int:
    if not report.complete:
        return ExitCode.INTERNAL
    if fail_on is FailOn.never:
        return ExitCode.CLEAN
    threshold = Severity(fail_on.value).rank
    if any(f.severity.rank >= threshold for f in report.findings):
        return ExitCode.FINDINGS
    return ExitCode.CLEAN


@contextmanager
def _collector_tuned_for_scan() -> Iterator[None]:
    """During the scan (and in the workers it forks), what is loaded before it (modules, rules,
    compiled queries' Python side) lives for the whole run: `gc.freeze` takes it out of the
    cyclic collector's passes, which otherwise walk it again at every full collection (about
    5% of a wasmtime scan's CPU), and keeps forked workers from copying the pages those
    objects' headers are on. The thresholds stay Python's: collecting more rarely let cyclic
    garbage that holds parse trees pile up (tikv's tree PSS 284 -> 340 MiB). Undone afterwards
    (the CLI also runs inside other processes)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _available_cores() -> int:
    """The cores this process may use (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_scan(args: list[str]) -> int:
    return invoke(typer.main.get_command(app), args, "cargo unsound")
