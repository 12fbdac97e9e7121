"""The data a scan hands a worker and gets back: a crate task's files and each file's outcome.

Kept apart from `crate_scan`, which matches them: the parent process plans tasks and caches
outcomes without importing the matcher, its conditions and their queries, which only the
workers (forked, or the in-process scan) need. A rescan's parent thus starts discovery sooner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from unsound.engine.cargo_lints import NO_LINT_LEVELS, LintLevels
from unsound.engine.crate_reads import CrateReads
from unsound.model import Finding, ScanProblem


@dataclass(frozen=True)
class FileJob:
    """One file of a task's crate; `scan` is False for files there only for the crate index."""

    rel_path: str
    data: bytes
    scan: bool = True


@dataclass(frozen=True)
class CrateTask:
    """Files of one crate, in source order (the crate index depends on that order)."""

    task_id: int
    crate: str
    files: tuple[FileJob, ...]
    # Library crate names of the workspace's members (`CrateIndex.workspace_crates`).
    workspace_crates: frozenset[str] = frozenset()
    # The lint levels the crate's manifest sets (`CrateIndex.lint_levels`).
    lints: LintLevels = NO_LINT_LEVELS

    @property
    def scan_count(self) -> int:
        return sum(1 for job in self.files if job.scan)


@dataclass(frozen=True)
class FileOutcome:
    """What scanning one file found.

    `crate_dependent` says whether matching consulted the crate index or the crate gate, i.e.
    whether the result may change when another file of the crate changes; `crate_reads` says
    which other files can change it (`crate_reads`: the cache redoes the outcome only when one of
    them changes). `cacheable` is False for internal errors, which must be retried on the next
    scan.
    """

    rel_path: str
    findings: tuple[Finding, ...] = ()
    problems: tuple[ScanProblem, ...] = ()
    crate_dependent: bool = False
    cacheable: bool = True
    crate_reads: CrateReads | None = None


OnResult = Callable[[CrateTask, list[FileOutcome]], None]
"""Called once per finished task with its outcomes (in the parent, in completion order)."""
