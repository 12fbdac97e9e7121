"""Crate tasks on a process pool, surviving workers that die.

Parsing is CPU-bound C called from Python, so only processes scale it. Each worker gets the
compiled rules once, at start (they pickle; with `fork` they are simply inherited), and returns
`FileOutcome`s, never trees. A full scan's workers with the built-in rules are forked by the
zygote (`engine.zygote`), which has built their matcher already; other pools are a
`ProcessPoolExecutor`, whose workers build theirs (`_init_worker`).

A worker that dies for real (a segfault in the native parser, the OOM killer, `os._exit`) breaks a
`ProcessPoolExecutor` (or the zygote's `ZygoteExecutor`) for good: every unfinished future
fails. DESIGN's answer is to restart the pool, rescan the rest, and report the file that killed
it. To know that file, each worker writes (task id, file index) into its own slot of a shared
array before it parses or matches a file. After a break, the tasks found in the slots are the
suspects: each is rerun alone on a one-worker pool; if that dies too, its slot names the file,
which is reported as not scanned and left out of the rerun. Tasks that were merely queued go
back to a fresh full pool.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unsound.dsl.compiled import CompiledRule
from unsound.engine.crate_task import CrateTask, FileOutcome, OnResult
from unsound.engine.zygote import MAX_WORKERS, Zygote, current_zygote
from unsound.engine.zygote_executor import TaskFailed, ZygoteExecutor
from unsound.model import ProblemKind, ScanProblem

if TYPE_CHECKING:  # imported by the workers themselves (`_init_worker`), not the parent
    from unsound.engine.matcher import RuleSetMatcher
    from unsound.engine.prefilter import RuleSetPrefilter

# Tests set this (in the parent, before the pool forks) to kill a worker on a chosen file; it is a
# module attribute, not an environment variable or a file, so nothing in a scanned tree can set it.
_crash_hook: Callable[[str], None] | None = None

_IDLE = -1


@dataclass
class _WorkerState:
    matcher: RuleSetMatcher
    prefilter: RuleSetPrefilter
    slots: Any  # multiprocessing.Array('i'): (task id, file index) per worker
    slot: int


_STATE: _WorkerState | None = None

# Workers run a little below the parent: while it reads the cache and discovers files (the
# critical path of a rescan), their start-up work must not take its core.
_WORKER_NICENESS = 5


def _init_worker(
    rules: Sequence[CompiledRule],
    slots: Any,
    counter: Any,
    few_files: bool = False,
    expected: tuple[str, ...] = (),
    plans: Any = None,
) -> None:
    """Per worker, once: import the matcher (the parent never does), build it, claim a slot.

    The rule set's combined query, needles and regexes are compiled here, while the parent is
    still opening the cache and discovering files: about 125 ms on the built-in rules, which a
    rescan of one file would otherwise wait for (its parse and matching take about 25 ms). The
    other queries (one rule's, a relation's) compile on first use.

    `plans` (a queue), for a pool started before the parent has read the scan cache: the
    worker compiles what every scan needs, then takes (`few_files`, `expected`) from it, or
    None when the parent will not use the pool (the worker then exits).
    """
    global _STATE
    import unsound.engine.crate_scan  # noqa: F401 - the tasks' module, not in the first task (3 ms)
    from unsound.engine.matcher import RuleSetMatcher
    from unsound.engine.prefilter import RuleSetPrefilter

    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    lower_priority()
    matcher = RuleSetMatcher(rules)
    prefilter = RuleSetPrefilter(rules)
    if plans is not None:
        if rules:
            matcher.compile_texts()
        plan = plans.get()
        if plan is None:
            # The parent will not use this pool. Exit at once rather than wait for the pool's
            # shutdown sentinel: a parent that ends its run now may close the pool's queues at
            # exit before the sentinel is written, and then wait for this process forever.
            os._exit(0)
        few_files, expected = plan
    if rules and few_files:
        matcher.compile_for_few_files()
        _prepare_for(matcher, prefilter, expected)
    elif rules:
        matcher.compile_all()
    _STATE = _WorkerState(matcher, prefilter, slots, slot)


def lower_priority() -> None:
    """Run a little below the parent (`_WORKER_NICENESS`)."""
    if hasattr(os, "nice"):  # not on Windows, which runs them alike
        with contextlib.suppress(OSError):
            os.nice(_WORKER_NICENESS)


def prepare_worker(rules: Sequence[CompiledRule]) -> tuple[RuleSetMatcher, RuleSetPrefilter]:
    """What `_init_worker` builds for a full scan's worker, built once in the zygote
    (`engine.zygote`) for the workers it forks (no rules: the imports alone)."""
    import unsound.engine.crate_scan  # noqa: F401 - the tasks' module
    from unsound.engine.matcher import RuleSetMatcher
    from unsound.engine.prefilter import RuleSetPrefilter

    matcher = RuleSetMatcher(rules)
    prefilter = RuleSetPrefilter(rules)
    if rules:
        matcher.compile_all()
        prefilter.build_set()
    return matcher, prefilter


def serve_tasks(
    tasks: Connection,
    results: Connection,
    prepared: tuple[RuleSetMatcher, RuleSetPrefilter],
    slots: Any,
    slot: int,
) -> None:
    """A worker forked by the zygote: run each task it is sent, send back its outcomes or what
    it raised, until told to stop (None, or the pipe's end)."""
    global _STATE
    _STATE = _WorkerState(*prepared, slots, slot)
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            reply: tuple[list[FileOutcome] | None, str | None] = (_run_task(task), None)
        except Exception as exc:
            reply = (None, f"{type(exc).__name__}: {exc}")
        results.send(reply)


# More changed files than this, and the query is left to the first task (reading them is then
# not worth the head start).
_EXPECTED_FILES = 16


def _prepare_for(
    matcher: RuleSetMatcher, prefilter: RuleSetPrefilter, paths: tuple[str, ...]
) -> None:
    """Build, before any task arrives, the query for the rules the changed files want: the
    parent names them from the cache's stats (`ScanCache.crates_touched`), and is still
    discovering when this runs. Only a head start: the task computes what its files want and
    builds another query if this one does not cover it (a file changed again since)."""
    if not paths or len(paths) > _EXPECTED_FILES:
        return
    from unsound.engine.cache_files import read_regular_file

    wanted: set[str] = set()
    for path in paths:
        data = read_regular_file(Path(path))
        if data is not None:
            wanted |= prefilter.wanted(data)
    matcher.prepare_now(wanted)


def _run_task(task: CrateTask) -> list[FileOutcome]:
    from unsound.engine.crate_scan import scan_crate  # imported by `_init_worker` already

    state = _STATE
    assert state is not None, "worker used without its initializer"
    base = 2 * state.slot
    hook = _crash_hook

    def mark(index: int) -> None:
        state.slots[base] = task.task_id
        state.slots[base + 1] = index
        if hook is not None:
            hook(task.files[index].rel_path)

    state.slots[base], state.slots[base + 1] = task.task_id, _IDLE
    outcomes = scan_crate(task, state.matcher, state.prefilter, mark=mark)
    state.slots[base] = _IDLE
    return outcomes


def _context() -> BaseContext:
    """`fork` where there is one: workers inherit imports and rules instead of redoing them."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class WorkerPool:
    """A started pool and the slots its workers write to.

    Started before source discovery when it can be: forked from a parent (or the zygote) that
    holds only the imports and the rules, workers do not inherit (and copy on write) the
    parent's source bytes and discovery trees.
    """

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        workers: int,
        *,
        few_files: bool = False,
        expected: tuple[str, ...] = (),
        plan_later: bool = False,
    ) -> None:
        """`few_files`: the pool is for a rescan of a few files, whose workers build only the
        queries their tasks need (`RuleSetMatcher.compile_for_few_files`), starting with the
        one the `expected` files (the changed ones) will want. `plan_later`: those two come
        later, by `send_plan` (or `discard`), and the workers start on what every scan needs."""
        self.rules = tuple(rules)
        self.workers = workers
        self._plans: Any = None
        self.executor: ProcessPoolExecutor | ZygoteExecutor
        zygote = current_zygote()
        full_scan = not (few_files or plan_later) and workers <= MAX_WORKERS
        if zygote is not None and full_scan and self._start_from(zygote):
            return
        context = _context()
        self.slots = context.Array("i", [_IDLE] * (2 * workers), lock=False)
        counter = context.Value("i", 0)
        self._plans = context.SimpleQueue() if plan_later else None
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self.rules, self.slots, counter, few_files, expected, self._plans),
        )
        self.executor.submit(_warm_up)  # with `fork`, the first submit starts every worker

    def _start_from(self, zygote: Zygote) -> bool:
        """Have the zygote fork the workers, if it compiled these very rules (False otherwise,
        or if it is gone: the pool then forks its own)."""
        if not zygote.serves(self.rules):
            return False
        self.slots = zygote.slots
        self.slots[: 2 * self.workers] = array("q", [_IDLE] * (2 * self.workers))
        try:
            self.executor = ZygoteExecutor(zygote, self.rules, self.workers)
        except OSError:
            return False
        return True

    def submit(self, task: CrateTask) -> Future[list[FileOutcome]]:
        if isinstance(self.executor, ZygoteExecutor):
            return self.executor.submit(task)
        return self.executor.submit(_run_task, task)

    def send_plan(self, few_files: bool, expected: tuple[str, ...]) -> None:
        """What a `plan_later` pool's workers are for (see `__init__`)."""
        self._tell_workers((few_files, expected))

    def discard(self) -> None:
        """Stop a pool that will get no task, without waiting for its workers to finish their
        start-up: the run goes on meanwhile (a `plan_later` pool's workers, told None, exit)."""
        self._tell_workers(None)
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _tell_workers(self, plan: tuple[bool, tuple[str, ...]] | None) -> None:
        """Give each waiting worker its plan, once (none for a pool not started `plan_later`)."""
        if self._plans is not None:
            for _ in range(self.workers):
                self._plans.put(plan)
            self._plans = None

    def forked_none(self) -> bool:
        """Whether its workers never started (a zygote that stopped before forking them):
        its unfinished tasks are then no suspects (meaningful once the pool has stopped)."""
        return isinstance(self.executor, ZygoteExecutor) and self.executor.forked_none()

    def in_flight(self) -> set[int]:
        """Ids of the tasks the workers were inside of (meaningful once the pool has stopped)."""
        return {self.slots[2 * i] for i in range(self.workers)} - {_IDLE}

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _warm_up() -> None:
    return None


def run_tasks(
    tasks: Iterable[CrateTask],
    rules: Sequence[CompiledRule],
    jobs: int,
    on_result: OnResult,
    pool: WorkerPool | None = None,
) -> list[ScanProblem]:
    """Run every task, calling `on_result` for each; problems for files that killed a worker.

    `tasks` may be a generator that is still finding files (source discovery): each task is
    submitted as soon as it is made, so the workers scan the first crates while the parent
    reads the next. `pool`, if given, is used first (and closed); pools started after a crash
    have `jobs` workers at most.
    """
    problems: list[ScanProblem] = []
    remaining = iter(tasks)
    first = next(remaining, None)
    if first is None:  # nothing to scan (all cached): no pool to start
        if pool is not None:
            pool.close()
        return problems
    queue, suspects = _run_pool(
        pool or WorkerPool(rules, jobs), itertools.chain([first], remaining), on_result
    )
    while True:
        for task in suspects:
            problems.extend(_isolate(task, rules, on_result))
        if not queue:
            return problems
        queue, suspects = _run_pool(
            WorkerPool(rules, max(1, min(jobs, len(queue)))), queue, on_result
        )


def _run_pool(
    pool: WorkerPool, tasks: Iterable[CrateTask], on_result: OnResult
) -> tuple[list[CrateTask], list[CrateTask]]:
    """Run tasks until done or the pool breaks; then (tasks to rerun on a new pool, suspects)."""
    pending: dict[Future[list[FileOutcome]], CrateTask] = {}
    finished: set[int] = set()
    submitted: list[CrateTask] = []
    remaining = iter(tasks)
    try:
        for task in remaining:
            submitted.append(task)
            pending[pool.submit(task)] = task
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    outcomes = future.result()
                except BrokenProcessPool:
                    continue  # handled below, once every future has settled
                except Exception as exc:  # the task failed as a whole (not a death)
                    outcomes = _failed(pending[future], exc)
                task = pending.pop(future)
                finished.add(task.task_id)
                on_result(task, outcomes)
            if any(_broken(future) for future in done):
                break
    except BrokenProcessPool:  # broke while tasks were still being submitted
        pass
    finally:
        pool.close()
    never_submitted = list(remaining)  # the pool broke while discovery went on
    unfinished = [task for task in submitted if task.task_id not in finished]
    if pool.forked_none():  # the zygote stopped first: the next pool forks its own workers
        return [*unfinished, *never_submitted], []
    in_flight = pool.in_flight()
    suspects = [task for task in unfinished if task.task_id in in_flight]
    if unfinished and not suspects:  # died outside a task: no way to tell, suspect them all
        return never_submitted, unfinished
    rerun = [task for task in unfinished if task.task_id not in in_flight]
    return [*rerun, *never_submitted], suspects


def _broken(future: Future[list[FileOutcome]]) -> bool:
    return future.done() and isinstance(future.exception(), BrokenProcessPool)


def _isolate(
    task: CrateTask, rules: Sequence[CompiledRule], on_result: OnResult
) -> list[ScanProblem]:
    """Rerun a suspect alone; each time it dies, drop the file its slot names and retry."""
    problems: list[ScanProblem] = []
    while True:
        died_on = _run_alone(task, rules, on_result)
        if died_on is None:
            return problems
        if died_on == _IDLE:  # died between files: blame every file it was to scan
            blamed = [job.rel_path for job in task.files if job.scan]
            problems.extend(_death(path) for path in blamed)
            on_result(task, [])
            return problems
        problems.append(_death(task.files[died_on].rel_path))
        files = task.files[:died_on] + task.files[died_on + 1 :]
        task = replace(task, files=files)
        if not any(job.scan for job in files):
            on_result(task, [])
            return problems


def _run_alone(task: CrateTask, rules: Sequence[CompiledRule], on_result: OnResult) -> int | None:
    """None when the task completed; else the index of the file its worker died on."""
    pool = WorkerPool(rules, 1)
    try:
        outcomes = pool.submit(task).result()
    except BrokenProcessPool:
        return int(pool.slots[1])
    except Exception as exc:
        outcomes = _failed(task, exc)
    finally:
        pool.close()
    on_result(task, outcomes)
    return None


def _death(rel_path: str) -> ScanProblem:
    return ScanProblem(
        rel_path,
        ProblemKind.NOT_SCANNED,
        "the scanning process died on this file (a crash in the native parser?); "
        "it was not scanned, the other files were",
    )


def _failed(task: CrateTask, exc: Exception) -> list[FileOutcome]:
    """Each file of a task that raised, reported not scanned, with the exception's name (a
    zygote's worker names the one it caught: `TaskFailed`)."""
    what = str(exc) if isinstance(exc, TaskFailed) else f"{type(exc).__name__}: {exc}"
    message = f"internal error while scanning its crate: {what}"
    return [
        FileOutcome(
            job.rel_path,
            problems=(ScanProblem(job.rel_path, ProblemKind.NOT_SCANNED, message),),
            cacheable=False,
        )
        for job in task.files
        if job.scan
    ]
