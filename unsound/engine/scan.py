"""The scan pipeline: source files → crate tasks → per-file outcomes → `Report`.

Work is cut by crate (`crate_scan`): rules that relate items consult an index of the whole crate,
so a task carries its crate's files. Outcomes come from the cache (`cache`) when a file, its crate
(for outcomes that consulted the crate index) and the rule set are unchanged; the rest run on a
process pool (`parallel`, with crash isolation), or in this process with `jobs=0`. Both paths run
the same `scan_crate`, and results are put back in source order, so the report does not depend on
the number of jobs or on what was cached.

One file's failure never loses the others: an exception while matching a file, or a worker that
dies on it, is recorded as a `ScanProblem` (not scanned) and the scan goes on.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from unsound import __version__
from unsound.dsl.compiled import CompiledRule
from unsound.engine.cache import CrateView, FileText, ScanCache
from unsound.engine.cargo_lints import NO_LINT_LEVELS, LintLevels
from unsound.engine.crate_sizes import discovery_order, estimated_sizes
from unsound.engine.crate_task import CrateTask, FileJob, FileOutcome, OnResult
from unsound.engine.early_pool import take_early_worker
from unsound.engine.progress import NoProgress, Progress
from unsound.engine.sources import CrateSources, SourceFile, collect_sources
from unsound.engine.suppressions import SUPPRESSION_RULES
from unsound.engine.workspace import Package, Workspace
from unsound.model import Finding, ProblemKind, Report, ScanProblem

if TYPE_CHECKING:
    from unsound.engine.parallel import WorkerPool


def start_pool(
    rules: Sequence[CompiledRule],
    jobs: int,
    *,
    few_files: bool = False,
    expected: tuple[str, ...] = (),
) -> WorkerPool:
    """Worker processes, started now (imported lazily: `-j0` never loads multiprocessing)."""
    from unsound.engine.parallel import WorkerPool

    return WorkerPool(rules, jobs, few_files=few_files, expected=expected)


def scan_workspace(
    workspace: Workspace,
    packages: Sequence[Package],
    rules: Sequence[CompiledRule],
    *,
    all_files: bool = False,
    jobs: int = 0,
    use_cache: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Scan the selected packages of a workspace with the given rules.

    `jobs` worker processes (0: in this process, without crash isolation); `use_cache` reads and
    writes the scan cache under the workspace's target dir.
    """
    siblings = workspace_crate_names(workspace)
    lints = {package.name: package.lints for package in packages}
    cache = ScanCache.open(workspace.root, rules, siblings, lints) if use_cache else None
    changed: list[str] = []
    touched = _touched_crates(packages, workspace, cache, changed)
    workers = _workers_needed(jobs, touched)
    # Forked before discovery, while the parent holds only the rules and the cache; a rescan
    # with nothing changed starts none (a task that appears anyway starts a pool then). For a
    # change of a few files they build only the queries their tasks need, starting with those
    # the changed files will want.
    few_files = _few_files_changed(touched)
    expected = tuple(changed) if few_files else ()
    pool = take_early_worker(rules, workers)  # forked before the CLI read anything
    if pool is not None:
        pool.send_plan(few_files, expected)
    elif workers:
        pool = start_pool(rules, workers, few_files=few_files, expected=expected)
    try:
        if jobs > 0 and not all_files and len(packages) > 1:
            # Each crate goes to the workers as soon as it is read: discovery (a second of
            # parsing `mod` declarations on wasmtime) overlaps the scan of the first crates.
            order, slice_bytes = _discovery_plan(packages, touched, jobs)
            stream = CrateSources(order, workspace.root, store=cache)
            sources, findings, scan_problems = scan_crates(
                stream,
                rules,
                jobs=jobs,
                cache=cache,
                progress=progress,
                pool=pool,
                workspace_crates=siblings,
                crate_lints=lints,
                slice_bytes=slice_bytes,
            )
            problems = stream.problems
        else:
            # Workers parse for themselves: discovery keeps no tree for them.
            sources, problems = collect_sources(
                packages, workspace.root, all_files=all_files, store=cache, keep_trees=jobs == 0
            )
            findings, scan_problems = scan_sources(
                sources,
                rules,
                jobs=jobs,
                cache=cache,
                progress=progress,
                pool=pool,
                workspace_crates=siblings,
                crate_lints=lints,
            )
    finally:
        if pool is not None:
            pool.close()
    all_problems = sorted((*problems, *scan_problems), key=lambda p: (p.path, p.line or 0))
    unscanned = {p.path for p in all_problems if p.kind is ProblemKind.NOT_SCANNED}
    reported = [f for f in findings if f.suppression is None]
    suppressed = [f for f in findings if f.suppression is not None]
    # The suppression pseudo-rules are listed only when they report something, so the rules of
    # a run stay "the rules that ran".
    used = {f.rule_id for f in reported}
    pseudo = tuple(info for info in SUPPRESSION_RULES if info.id in used)
    return Report(
        tool_version=__version__,
        workspace_root=workspace.root,
        uri_prefix=uri_prefix(workspace.root),
        rules=(*(rule.info for rule in rules), *pseudo),
        findings=tuple(sorted(reported, key=Finding.sort_key)),
        suppressed=tuple(sorted(suppressed, key=Finding.sort_key)),
        problems=tuple(all_problems),
        crates_scanned=len(packages),
        files_scanned=len([s for s in sources if s.rel_path not in unscanned]),
    )


def _touched_crates(
    packages: Sequence[Package],
    workspace: Workspace,
    cache: ScanCache | None,
    changed: list[str] | None = None,
) -> dict[str, int] | None:
    """The selected crates with files changed since the cache was written, with the bytes of
    those files (their paths added to `changed`); None when there is no cache to tell
    (everything is to be scanned). A package the cache has never seen counts as big: its size
    is not known yet."""
    if cache is None or not cache.crates:
        return None
    touched = cache.crates_touched(workspace.root, changed)
    selected = {package.name for package in packages}
    found = {crate: size for crate, size in touched.items() if crate in selected}
    found.update({name: _SLICE_BYTES for name in selected if name not in cache.crates})
    return found


def _workers_needed(jobs: int, touched: dict[str, int] | None) -> int:
    """Workers to start before discovery: `jobs`, unless the cache says that less will do.

    A worker's start-up takes CPU (50-150 ms on the built-in rules), and the pool is closed
    only once every worker has started: a one-file rescan on two cores waited for a second
    worker it had no task for. So one worker per touched crate when only a few files changed
    (counted by the changed files, not their crates: a one-file edit in rust-analyzer's 3.4 MB
    `hir-ty` redoes 10 of its 137 files), all of them when the change is big enough to be cut
    into slices."""
    if jobs == 0 or touched is None:
        return jobs
    if not _few_files_changed(touched):
        return jobs
    return min(jobs, len(touched))


def _few_files_changed(touched: dict[str, int] | None) -> bool:
    """Whether the cache says only a few files changed (less than a slice's worth of bytes)."""
    return touched is not None and sum(touched.values()) < _SLICE_BYTES


def _discovery_plan(
    packages: Sequence[Package], touched: dict[str, int] | None, jobs: int
) -> tuple[list[Package], int]:
    """The order in which the packages are discovered and scanned, and the size from which a
    crate is cut into one slice per job. A rescan takes the changed crates first; a cold scan
    (no cache to tell) the biggest first by their size on disk (`crate_sizes`), cutting only a
    crate over half of one job's share of the whole (and over 2 MB): any other is done by its
    worker while the others scan the rest. One job has nothing to balance: no sizes."""
    if touched is not None or jobs <= 1:
        return _touched_first(packages, touched), _SLICE_BYTES
    sizes = estimated_sizes(packages)
    share = sum(sizes.values()) // (2 * max(jobs, 1))
    return discovery_order(packages, sizes), max(_SLICE_BYTES, share)


def _touched_first(packages: Sequence[Package], touched: dict[str, int] | None) -> list[Package]:
    """The packages, those with files changed since the cache was written first: a rescan's
    work is then on the workers while the parent still discovers the unchanged crates, instead
    of after it (on wasmtime a one-file rescan waited 50-70 ms for its task at the end). The
    order of the report does not depend on it."""
    if not touched:
        return list(packages)
    return sorted(packages, key=lambda package: package.name not in touched)


def workspace_crate_names(workspace: Workspace) -> frozenset[str]:
    """The library crate names of every member of the workspace (selected or not), as code
    names them in paths (`pd_client` for package `pd-client`, or its `[lib] name`)."""
    return frozenset(
        target.name.replace("-", "_")
        for package in workspace.members
        for target in package.targets
        if target.kind == "lib"
    )


def scan_sources(
    sources: Sequence[SourceFile],
    rules: Sequence[CompiledRule],
    *,
    jobs: int = 0,
    cache: ScanCache | None = None,
    progress: Progress | None = None,
    pool: WorkerPool | None = None,
    workspace_crates: frozenset[str] = frozenset(),
    crate_lints: Mapping[str, LintLevels] | None = None,
) -> tuple[list[Finding], list[ScanProblem]]:
    """Match every rule against every source file; files no rule can match are not parsed.

    With `jobs` > 0 the work runs on worker processes (on `pool` first, if one was started).
    `workspace_crates`: the library crate names of the workspace's members
    (`workspace_crate_names`), which some conditions read; `crate_lints`: each crate's lint
    levels from its manifest (`Package.lints`).
    """
    progress = progress or NoProgress()
    position = {source.rel_path: index for index, source in enumerate(sources)}
    outcomes: dict[int, FileOutcome] = {}
    views = crate_views(sources, cache) if cache is not None else {}
    if cache is not None:
        for index, source in enumerate(sources):
            cached = cache.get(views[source.crate], source.rel_path)
            if cached is not None:
                outcomes[index] = cached
    done = len(outcomes)
    progress.update(done, len(sources))

    def on_result(task: CrateTask, results: list[FileOutcome]) -> None:
        nonlocal done
        for outcome in results:
            outcomes[position[outcome.rel_path]] = outcome
            if cache is not None and task.crate not in unread_crates:
                cache.put(views[task.crate], outcome)
        done += task.scan_count
        progress.update(min(done, len(sources)), len(sources))

    scanned_crates = {s.crate for i, s in enumerate(sources) if i not in outcomes}
    unreadable = _read_for_scan([s for s in sources if s.crate in scanned_crates])
    unread_crates = {sources[position[p.path]].crate for p in unreadable}
    tasks = plan_tasks(sources, set(outcomes), jobs, workspace_crates, crate_lints)
    problems = [*unreadable, *_run(tasks, sources, rules, jobs, on_result, pool)]
    progress.finish()
    if cache is not None:
        cache.save()
    ordered = [outcomes[index] for index in sorted(outcomes)]
    findings = [finding for outcome in ordered for finding in outcome.findings]
    per_file = [problem for outcome in ordered for problem in outcome.problems]
    return findings, [*per_file, *problems]  # files that killed a worker last


# A crate this big is cut into one task per job when crates arrive one at a time.
_SLICE_BYTES = 2_000_000


def scan_crates(
    crates: Iterable[list[SourceFile]],
    rules: Sequence[CompiledRule],
    *,
    jobs: int,
    cache: ScanCache | None = None,
    progress: Progress | None = None,
    pool: WorkerPool | None = None,
    workspace_crates: frozenset[str] = frozenset(),
    crate_lints: Mapping[str, LintLevels] | None = None,
    slice_bytes: int = _SLICE_BYTES,
) -> tuple[tuple[SourceFile, ...], list[Finding], list[ScanProblem]]:
    """`scan_sources` for files that arrive one crate at a time (each crate's files complete
    and sorted, as `CrateSources` gives them): a crate's tasks are submitted to the workers as
    soon as it arrives. Returns every source (sorted by rel_path) with the findings and problems;
    the outcome is the same as `scan_sources` on all of them at once."""
    progress = progress or NoProgress()
    outcomes: dict[str, FileOutcome] = {}
    views: dict[str, CrateView] = {}
    sources: list[SourceFile] = []
    task_ids = itertools.count()
    done = 0

    def on_result(task: CrateTask, results: list[FileOutcome]) -> None:
        nonlocal done
        for outcome in results:
            outcomes[outcome.rel_path] = outcome
            if cache is not None and task.crate not in unread_crates:
                cache.put(views[task.crate], outcome)
        done += task.scan_count
        progress.update(min(done, len(sources)), len(sources))

    def tasks() -> Iterator[CrateTask]:
        nonlocal done
        for crate in crates:
            crate = [dataclasses.replace(source, tree=None) for source in crate]
            sources.extend(crate)
            cached: set[int] = set()
            if cache is not None:
                views.update(crate_views(crate, cache))
                for index, source in enumerate(crate):
                    hit = cache.get(views[source.crate], source.rel_path)
                    if hit is not None:
                        outcomes[source.rel_path] = hit
                        cached.add(index)
                done += len(cached)
            progress.update(min(done, len(sources)), len(sources))
            if len(cached) < len(crate):
                missing = _read_for_scan(crate)
                if missing:
                    unreadable.extend(missing)
                    unread_crates.add(crate[0].crate)
            # The total is not known yet, so a crate is cut into one slice per job only when it
            # is `slice_bytes` or more, big enough to keep every worker busy alone (a workspace
            # that is mostly one crate must not scan on one core); a smaller one goes whole
            # (each slice's worker builds the crate's index, queries and relations again).
            todo = sum(len(s.data) for i, s in enumerate(crate) if i not in cached)
            slices = jobs if todo >= slice_bytes else 1
            for task in plan_tasks(crate, cached, slices, workspace_crates, crate_lints):
                yield dataclasses.replace(task, task_id=next(task_ids))

    unreadable: list[ScanProblem] = []
    unread_crates: set[str] = set()
    problems = [*_run(tasks(), sources, rules, jobs, on_result, pool), *unreadable]
    progress.finish()
    if cache is not None:
        cache.save()
    ordered = sorted(sources, key=lambda source: source.rel_path)
    in_order = [outcomes[source.rel_path] for source in ordered if source.rel_path in outcomes]
    findings = [finding for outcome in in_order for finding in outcome.findings]
    per_file = [problem for outcome in in_order for problem in outcome.problems]
    return tuple(ordered), findings, [*per_file, *problems]


def _read_for_scan(sources: Sequence[SourceFile]) -> list[ScanProblem]:
    """Read the files discovery took from the cache unread, for their crate's task (which
    carries every file of the crate). One that cannot be read now is scanned as empty and
    reported not scanned, as discovery reports a file it cannot read; no outcome of its crate
    is cached in this run (the crate index read it as empty)."""
    problems = []
    for source in sources:
        why = source.read_now()
        if why is not None:
            problems.append(ScanProblem(source.rel_path, ProblemKind.NOT_SCANNED, why))
    return problems


def _run(
    tasks: Iterable[CrateTask],
    sources: Sequence[SourceFile],
    rules: Sequence[CompiledRule],
    jobs: int,
    on_result: OnResult,
    pool: WorkerPool | None,
) -> list[ScanProblem]:
    if jobs > 0:
        from unsound.engine.parallel import run_tasks

        return run_tasks(tasks, rules, jobs, on_result, pool)
    if not tasks:
        return []
    from unsound.engine.crate_scan import scan_crate
    from unsound.engine.matcher import RuleSetMatcher
    from unsound.engine.prefilter import RuleSetPrefilter

    matcher, prefilter = RuleSetMatcher(rules), RuleSetPrefilter(rules)
    trees = {s.rel_path: s.tree for s in sources if s.tree is not None}
    for task in tasks:
        on_result(task, scan_crate(task, matcher, prefilter, trees=trees))
    return []


def plan_tasks(
    sources: Sequence[SourceFile],
    cached: set[int],
    jobs: int,
    workspace_crates: frozenset[str] = frozenset(),
    crate_lints: Mapping[str, LintLevels] | None = None,
) -> list[CrateTask]:
    """Crate tasks for the files not cached, biggest first, so the pool's tail stays short.

    A crate bigger than an equal share of the work is cut into slices (each still carrying the
    whole crate for its index), or one huge crate would keep a single worker busy alone.
    """
    by_crate: dict[str, list[int]] = defaultdict(list)
    for index, source in enumerate(sources):
        by_crate[source.crate].append(index)
    todo_bytes = sum(len(s.data) for i, s in enumerate(sources) if i not in cached)
    share = todo_bytes / jobs if jobs > 1 else math.inf
    slices: list[tuple[str, list[int], set[int]]] = []
    for crate, members in by_crate.items():
        todo = [i for i in members if i not in cached]
        for part in _slices(todo, sources, share):
            slices.append((crate, members, set(part)))
    slices.sort(key=lambda s: -sum(len(sources[i].data) for i in s[2]))
    return [
        CrateTask(
            task_id,
            crate,
            tuple(FileJob(sources[i].rel_path, sources[i].data, i in part) for i in members),
            workspace_crates,
            (crate_lints or {}).get(crate, NO_LINT_LEVELS),
        )
        for task_id, (crate, members, part) in enumerate(slices)
    ]


def _slices(todo: list[int], sources: Sequence[SourceFile], share: float) -> list[list[int]]:
    """`todo` cut into consecutive runs of about `share` bytes ([] when there is nothing to do)."""
    if not todo:
        return []
    total = sum(len(sources[i].data) for i in todo)
    count = max(1, math.ceil(total / share)) if share != math.inf else 1
    target = total / count
    out: list[list[int]] = [[]]
    filled = 0.0
    for index in todo:
        if filled >= target and len(out) < count:
            out.append([])
            filled = 0.0
        out[-1].append(index)
        filled += len(sources[index].data)
    return out


def crate_views(sources: Sequence[SourceFile], cache: ScanCache) -> dict[str, CrateView]:
    """Each crate's state in this run (its files' content hashes, in order), set against the
    state the cache last saw."""
    members: dict[str, list[tuple[str, str, FileText]]] = defaultdict(list)
    for source in sources:
        # A file discovery did not read (`UnreadFile`) is read only if it changed.
        text = source.content if isinstance(source.content, bytes) else _reader(source)
        members[source.crate].append((source.rel_path, source.content_hash(), text))
    return {crate: cache.crate_view(crate, files) for crate, files in members.items()}


def _reader(source: SourceFile) -> Callable[[], bytes]:
    return lambda: source.data


def uri_prefix(workspace_root: Path) -> str:
    """The workspace root relative to the enclosing git repository ('' or 'a/b/').

    Found by walking up to a `.git` entry (a folder, or a file in worktrees and submodules);
    git itself is never run on the scanned tree.
    """
    root = workspace_root.resolve()
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            relative = root.relative_to(candidate).as_posix()
            return "" if relative == "." else relative + "/"
    return ""
