"""The worker a run starts before its CLI has read anything (`engine.early_pool`): taken by the
rescan it was started for, stopped otherwise, and the rescan's report is the cold scan's."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from test_scan_support import seeded_copy

from unsound.cli.entry import main
from unsound.cli.selection import select_rules
from unsound.engine import early_pool, parallel
from unsound.engine import scan as scan_module
from unsound.engine import sources as sources_module
from unsound.engine.crate_task import CrateTask, FileJob
from unsound.engine.parallel import WorkerPool

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="the early worker is forked"
)

HANDLE = Path("crates") / "slab-arena" / "src" / "handle.rs"
# A `mut-from-ref` finding, appended to HANDLE (the crate still passes `cargo check`).
ADDED = """
pub fn added(cell: &std::cell::UnsafeCell<u8>) -> &mut u8 {
    unsafe { &mut *cell.get() }
}
"""


def _children() -> set[int]:
    return {process.pid for process in multiprocessing.active_children() if process.pid}


def _ended(pids: set[int]) -> bool:
    """Whether these children exit within a few seconds (a stopped early worker is not waited
    for: it finishes its start-up, then sees that it has no plan)."""
    deadline = time.monotonic() + 10
    while pids & _children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_early_worker_is_stopped_unless_the_scan_wants_that_very_pool() -> None:
    rules = select_rules([], [], [])
    before = _children()
    for other_rules, workers in ((rules[:-1], 1), (rules, 2), (rules, 0)):
        early_pool.start_early_worker(rules)
        forked = _children() - before
        assert forked, "a worker was forked"
        assert early_pool.take_early_worker(other_rules, workers) is None
        assert _ended(forked), "and stopped"
    early_pool.start_early_worker(rules)
    forked = _children() - before
    early_pool.stop_early_worker()
    assert forked and _ended(forked)


def test_the_taken_worker_scans_once_it_has_its_plan(tmp_path: Path) -> None:
    root = seeded_copy(tmp_path)
    rules = select_rules([], [], [])
    early_pool.start_early_worker(rules)
    pool = early_pool.take_early_worker(list(rules), 1)
    assert isinstance(pool, WorkerPool)
    path = root / HANDLE
    pool.send_plan(True, (str(path),))
    task = CrateTask(0, "slab-arena", (FileJob(HANDLE.as_posix(), path.read_bytes()),))
    try:
        outcomes = pool.executor.submit(parallel._run_task, task).result()
    finally:
        pool.close()
    fresh = WorkerPool(rules, 1)
    try:
        expected = fresh.executor.submit(parallel._run_task, task).result()
    finally:
        fresh.close()
    assert outcomes == expected
    assert any(outcome.findings for outcome in outcomes)


def test_a_rescan_from_the_command_line_runs_on_the_early_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    # Stats trusted at once (else every file just copied is checked as if changed: a rescan
    # of all four crates, which takes two workers).
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = seeded_copy(tmp_path)
    warm, cold = tmp_path / "warm.json", tmp_path / "cold.json"
    # `-j 2` as the benchmark says it: a one-crate rescan takes one worker all the same.
    args = ["--workspace", "-q", "-j", "2", "--format", "json", str(root)]
    assert main([*args, "-o", str(warm)]) == 1  # fills the scan cache
    with (root / HANDLE).open("a", encoding="utf-8") as handle:
        handle.write(ADDED)
    taken: list[object] = []
    started: list[object] = []
    real_take, real_start = early_pool.take_early_worker, scan_module.start_pool

    def take(*args: object) -> object:
        taken.append(real_take(*args))  # type: ignore[arg-type]
        return taken[-1]

    def start(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real_start(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(scan_module, "take_early_worker", take)
        patch.setattr(scan_module, "start_pool", start)
        assert main([*args, "-o", str(warm)]) == 1
    assert len(taken) == 1 and isinstance(taken[0], WorkerPool) and started == []
    assert main([*args, "--no-cache", "-o", str(cold)]) == 1
    assert warm.read_text(encoding="utf-8") == cold.read_text(encoding="utf-8")
    assert "`added` returns `&mut u8`" in warm.read_text(encoding="utf-8")


def test_a_run_that_ends_before_its_scan_stops_the_early_worker_and_exits(tmp_path: Path) -> None:
    """With the rules in their cache, the CLI forks the early worker first; a run that then
    fails (no `Cargo.toml` here) must end at once, the worker with it. (The first version
    hung: the worker waited for the pool's shutdown sentinel, which the exiting parent's
    queue finalizers never wrote.)"""
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    root = seeded_copy(tmp_path)
    fill = [sys.executable, "-m", "unsound", "--workspace", "-q", "-o", os.devnull, str(root)]
    assert subprocess.run(fill, env=env, cwd=tmp_path, timeout=120).returncode == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    command = [sys.executable, "-m", "unsound", "--workspace", "-q"]
    for _ in range(3):  # a race, when there is one, shows in some runs only
        done = subprocess.run(command, env=env, cwd=empty, capture_output=True, timeout=60)
        assert done.returncode == 2
        assert b"could not find `Cargo.toml`" in done.stderr


def test_the_early_worker_waits_for_a_machine_that_kept_a_cache_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules already loaded (as an installed tool has them, compiled by its build) say nothing
    of this run: only once a scan has kept a cache here is a run most likely a rescan."""
    from unsound.cli import entry
    from unsound.dsl.loader import builtin_rules_loaded, load_rules
    from unsound.engine import zygote
    from unsound.engine.cache_identity import hmac_key

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    load_rules()
    assert builtin_rules_loaded()
    entry._start_loading_rules([str(tmp_path)])
    try:
        assert early_pool._EARLY is None  # a first run: no worker its pool of two would not use
        assert zygote.current_zygote() is not None  # but the zygote, for a scan of every file
    finally:
        zygote.stop_zygote()
    assert hmac_key() is not None  # what a scan that keeps a cache creates
    entry._start_loading_rules([str(tmp_path)])
    try:
        assert isinstance(early_pool._EARLY, WorkerPool)
        assert zygote.current_zygote() is None
    finally:
        early_pool.stop_early_worker()
