"""One worker started before the CLI has read the workspace, for the rescan a run most likely is.

A rescan's one task waits for its worker: forked once the parent had read the manifests and
the scan cache (about 0.23 s into a rescan of wasmtime), the worker spent about 90 ms on its
imports, the rules' needles and regexes and the changed file's query, and was ready after the
parent had finished discovering files. Started right after the built-in rules load from the
compiled-rules cache (before typer and the engine are even imported), it does the part every
scan needs meanwhile, then waits for its plan: the parent sends it what the scan cache says
(`WorkerPool.send_plan`), or stops it when the scan needs another pool (other rules, more
workers, none at all). A guess that proves wrong costs one worker's start-up, on a core the
parent's imports leave idle.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unsound.dsl.compiled import CompiledRule
    from unsound.engine.parallel import WorkerPool

_EARLY: WorkerPool | None = None


def start_early_worker(rules: Sequence[CompiledRule]) -> None:
    """Fork one worker for these rules now (none where there is no `fork`: a spawned worker
    would import everything again, and then the guess is not worth it)."""
    global _EARLY
    if _EARLY is not None or not rules or "fork" not in multiprocessing.get_all_start_methods():
        return
    from unsound.engine.parallel import WorkerPool

    _EARLY = WorkerPool(rules, 1, plan_later=True)


def take_early_worker(rules: Sequence[CompiledRule], workers: int) -> WorkerPool | None:
    """The early worker's pool, if it is the pool the scan would start now (one worker with
    these very rules); otherwise it is stopped, and None."""
    global _EARLY
    pool, _EARLY = _EARLY, None
    if pool is None:
        return None
    same_rules = len(pool.rules) == len(rules) and all(
        mine is theirs for mine, theirs in zip(pool.rules, rules, strict=True)
    )
    if workers == 1 and same_rules:
        return pool
    pool.discard()
    return None


def stop_early_worker() -> None:
    """Stop the early worker if no scan took it (the run ended before its scan)."""
    take_early_worker((), 0)
