"""The zygote (`engine.zygote`): workers it forks give the in-process scan's report exactly,
survive deaths as the forked pool does, are used only for the rules it compiled, and end
with it; the CLI starts it for a scan of every file and stops it at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_scan_support import SEEDED, scan_folder

from unsound.cli.entry import main
from unsound.cli.selection import select_rules
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import load_rules
from unsound.engine import parallel, zygote
from unsound.engine.crate_task import CrateTask, FileJob
from unsound.engine.parallel import WorkerPool
from unsound.engine.zygote_executor import ZygoteExecutor
from unsound.model import ProblemKind
from unsound.report.json_report import render_json

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the zygote is forked")

KILLER = "crates/component-lower/src/raw/byte_view.rs"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rules"


@pytest.fixture
def rules() -> Iterator[list[CompiledRule]]:
    """The built-in rules, with a zygote compiled for them (stopped after the test)."""
    chosen = load_rules()
    zygote.start_zygote(chosen, chosen)
    assert zygote.current_zygote() is not None
    yield chosen
    zygote.stop_zygote()


@pytest.fixture
def executors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many workers each pool the zygote started had."""
    started: list[int] = []
    real = ZygoteExecutor.__init__

    def record(
        self: ZygoteExecutor, owner: zygote.Zygote, chosen: list[CompiledRule], workers: int
    ) -> None:
        started.append(workers)
        real(self, owner, chosen, workers)

    monkeypatch.setattr(ZygoteExecutor, "__init__", record)
    return started


@contextlib.contextmanager
def _zygote_for(chosen: list[CompiledRule]) -> Iterator[None]:
    """A zygote for these rules while the block runs (started after the test's hooks are set,
    which its workers then inherit)."""
    zygote.start_zygote(chosen, chosen)
    try:
        yield
    finally:
        zygote.stop_zygote()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _ends(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_workers_forked_by_the_zygote_give_the_in_process_report(
    rules: list[CompiledRule], executors: list[int], jobs: int
) -> None:
    expected = render_json(scan_folder(SEEDED, rules=rules))
    assert render_json(scan_folder(SEEDED, jobs=jobs, rules=rules)) == expected
    assert executors == [jobs]


def test_a_selection_of_its_rules_is_built_on_request_and_other_rules_start_their_own_pool(
    rules: list[CompiledRule], executors: list[int]
) -> None:
    """A configuration's or `--select`'s rules, taken from the built-in ones in their order,
    run on the zygote's workers (their matcher built when first asked for); rules in another
    order, or a project's own, on a pool of their own."""
    from unsound.dsl.loader import compile_rule_files

    selections = [rules[1::2], rules[-1:], rules[:5]]
    for chosen in selections:
        report = scan_folder(SEEDED, jobs=2, rules=chosen)
        assert render_json(report) == render_json(scan_folder(SEEDED, rules=chosen))
    assert executors == [2] * len(selections)
    own = compile_rule_files([("own", "own.rules", (FIXTURES / "language.rules").read_text())])
    for chosen in (rules[::-1], [*rules, *own]):
        report = scan_folder(SEEDED, jobs=2, rules=chosen)
        assert render_json(report) == render_json(scan_folder(SEEDED, rules=chosen))
    assert executors == [2] * len(selections)  # neither asked the zygote


def test_a_death_costs_only_its_file(monkeypatch: pytest.MonkeyPatch, executors: list[int]) -> None:
    """The hook reaches the zygote's workers as a module attribute set before its fork."""

    def hook(rel_path: str) -> None:
        if rel_path == KILLER:
            os._exit(70)

    monkeypatch.setattr(parallel, "_crash_hook", hook)
    chosen = load_rules()
    with _zygote_for(chosen):
        report = scan_folder(SEEDED, jobs=2, rules=chosen)
    not_scanned = [p for p in report.problems if p.kind is ProblemKind.NOT_SCANNED]
    assert [p.path for p in not_scanned] == [KILLER]
    assert "died" in not_scanned[0].message
    expected = scan_folder(SEEDED, rules=chosen)
    assert [f for f in report.findings if f.primary.path != KILLER] == [
        f for f in expected.findings if f.primary.path != KILLER
    ]
    # The pool that broke, then the suspect alone (twice: it dies again, then passes without
    # the file), then a fresh pool for the rest, all forked by the zygote.
    assert len(executors) >= 3 and executors[0] == 2


def test_a_task_that_raises_is_reported_as_in_a_forked_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def hook(rel_path: str) -> None:
        if rel_path == KILLER:
            raise LookupError("no such node")

    monkeypatch.setattr(parallel, "_crash_hook", hook)
    chosen = load_rules()
    forked = scan_folder(SEEDED, jobs=2, rules=chosen)
    with _zygote_for(chosen):
        from_zygote = scan_folder(SEEDED, jobs=2, rules=chosen)
    failed = [p for p in from_zygote.problems if p.kind is ProblemKind.NOT_SCANNED]
    assert failed and all("LookupError: no such node" in p.message for p in failed)
    assert from_zygote.problems == forked.problems
    assert from_zygote.findings == forked.findings


def test_a_pool_whose_zygote_is_gone_forks_its_own(
    rules: list[CompiledRule], executors: list[int]
) -> None:
    owner = zygote.current_zygote()
    assert owner is not None
    os.kill(owner.pid, signal.SIGKILL)
    os.waitpid(owner.pid, 0)
    report = scan_folder(SEEDED, jobs=2, rules=rules)
    assert executors == [2]  # asked, and refused
    assert render_json(report) == render_json(scan_folder(SEEDED, rules=rules))


def test_stopping_the_zygote_ends_it_and_its_workers(rules: list[CompiledRule]) -> None:
    owner = zygote.current_zygote()
    assert owner is not None
    pool = WorkerPool(rules, 2)
    assert isinstance(pool.executor, ZygoteExecutor)
    data = (SEEDED / KILLER).read_bytes()
    task = CrateTask(0, "component-lower", (FileJob(KILLER, data),))
    assert pool.submit(task).result(timeout=60)[0].rel_path == KILLER
    # Known once a result is in: the pool takes the pids before any result.
    workers = [worker.pid for worker in pool.executor._workers]
    assert all(isinstance(pid, int) for pid in workers)
    pool.close()
    zygote.stop_zygote()  # waits for the zygote, which has waited for its workers
    assert not _alive(owner.pid)
    assert not any(_alive(pid) for pid in workers)


def test_the_command_line_starts_the_zygote_for_a_scan_of_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executors: list[int]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    load_rules()  # the built-in rules are loaded: the CLI then forks the zygote first
    started: list[zygote.Zygote] = []
    preloaded: list[list[str]] = []
    real = zygote.start_zygote

    def start(catalog: list[CompiledRule], preload: list[CompiledRule]) -> None:
        real(catalog, preload)
        started.append(zygote.current_zygote())  # type: ignore[arg-type]
        preloaded.append([rule.id for rule in preload])

    monkeypatch.setattr(zygote, "start_zygote", start)
    base = ["--manifest-path", str(SEEDED / "Cargo.toml"), "-q", "-o", os.devnull]
    assert main([*base, "--no-cache", "-j", "2"]) == 1
    assert len(started) == 1 and executors == [2]
    assert preloaded[0] == [rule.id for rule in select_rules([], [], [])]
    assert zygote.current_zygote() is None and _ends(started[0].pid)
    select = ["--select", "napi-external-by-value", "--select=raw-pointer-escapes-lifetime"]
    assert main([*base, "--no-cache", *select, "--ignore", "ffi", "-j", "2"]) == 1
    assert len(started) == 2 and executors == [2, 2]  # the command line's selection, built first
    assert preloaded[1] == ["raw-pointer-escapes-lifetime"]  # napi-external-by-value is `ffi`
    assert main([*base, "--no-cache", "--select", "no-such-rule"]) == 2
    assert preloaded[2] == []  # nothing to build for a usage error
    own = ["--rules", str(FIXTURES / "language.rules")]
    assert main([*base, "--no-cache", *own, "-j", "2"]) == 1
    assert len(started) == 3 and executors == [2, 2]  # a project's own rules: no zygote


# Appended to a copy of the package (never to the package itself): each pool the zygote
# forks writes its number of workers to the file the environment names.
_PROBE = """
import os as _probe_os
if _probe_os.environ.get("UNSOUND_TEST_ZYGOTE_PROBE"):
    _probe_init = ZygoteExecutor.__init__

    def _probe_record(self, zygote, rules, workers):
        with open(_probe_os.environ["UNSOUND_TEST_ZYGOTE_PROBE"], "a") as probe:
            probe.write(f"{workers}\\n")
        _probe_init(self, zygote, rules, workers)

    ZygoteExecutor.__init__ = _probe_record
"""


def test_an_installed_tool_scans_every_file_on_the_zygote_and_ends_with_it(
    tmp_path: Path,
) -> None:
    """The installed tool's path, in its own process: the package with its compiled built-in
    rules (as its build makes them), a `--no-cache` scan. The rules load before the CLI's
    imports, so the zygote forks the workers, and the report is the in-process scan's; a run
    that then fails (no `Cargo.toml`) exits at once with its error, its zygote gone with it."""
    import json
    import shutil
    import subprocess
    import sys

    from test_scan_support import seeded_copy

    import unsound

    package = tmp_path / "installed"
    shutil.copytree(
        Path(unsound.__file__).parent,
        package / "unsound",
        ignore=shutil.ignore_patterns("__pycache__", "builtin-rules.bin"),
    )
    with (package / "unsound" / "engine" / "zygote_executor.py").open("a") as source:
        source.write(_PROBE)
    probe = tmp_path / "probe.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(package),
        "XDG_CACHE_HOME": str(tmp_path / "user-cache"),
        "UNSOUND_TEST_ZYGOTE_PROBE": str(probe),
    }
    build = "import pathlib, sys; from unsound.dsl.rule_bundle import build_bundle; "
    build += "build_bundle(pathlib.Path(sys.argv[1]))"
    rulesets = package / "unsound" / "rulesets"
    # In the copy's folder: `python -c` puts the current folder first on the import path.
    subprocess.run(
        [sys.executable, "-c", build, str(rulesets)], env=env, cwd=tmp_path, check=True, timeout=300
    )
    assert (rulesets / "builtin-rules.bin").is_file()
    root = seeded_copy(tmp_path)
    out = tmp_path / "scan.json"
    command = [sys.executable, "-m", "unsound", "--workspace", "-q", "--format", "json"]
    scan = [*command, "--no-cache", "-j", "2", "-o", str(out), str(root)]
    assert subprocess.run(scan, env=env, cwd=tmp_path, timeout=120).returncode == 1
    assert probe.read_text(encoding="utf-8").split() == ["2"]  # one pool, from the zygote
    expected = json.loads(render_json(scan_folder(root)))
    assert json.loads(out.read_text(encoding="utf-8"))["findings"] == expected["findings"]
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [*command, "--no-cache"], env=env, cwd=empty, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.decode().startswith("error: ") and b"Traceback" not in done.stderr


@pytest.mark.parametrize(("room", "ahead_bytes"), [(None, None), (0, None), (None, 0)])
def test_a_worker_is_sent_its_next_task_ahead_only_when_the_pipe_holds_it(
    rules: list[CompiledRule],
    monkeypatch: pytest.MonkeyPatch,
    room: int | None,
    ahead_bytes: int | None,
) -> None:
    """While many tasks wait, a working worker gets its next one ahead (its task pipe grown to
    hold it); with no room in the pipe, never; nor a task over `_AHEAD_BYTES`, which waits for
    the first worker to be free. Every result is its own task's."""
    from unsound.engine import zygote_executor

    if room is not None:
        monkeypatch.setattr(zygote_executor, "_pipe_room", lambda fd: room)
    if ahead_bytes is not None:
        monkeypatch.setattr(zygote_executor, "_AHEAD_BYTES", ahead_bytes)
    depths: list[int] = []
    real_send = ZygoteExecutor._send

    def record(self: ZygoteExecutor, worker: object, *args: object) -> None:
        real_send(self, worker, *args)  # type: ignore[arg-type]
        depths.append(len(worker.sent))  # type: ignore[attr-defined]

    monkeypatch.setattr(ZygoteExecutor, "_send", record)
    files = [KILLER, "crates/napi-shim/src/lib.rs", "crates/slab-arena/src/node.rs"]
    tasks = [
        CrateTask(i, f"crate{i}", (FileJob(files[i % 3], (SEEDED / files[i % 3]).read_bytes()),))
        for i in range(12)
    ]
    pool = WorkerPool(rules, 2)
    assert isinstance(pool.executor, ZygoteExecutor)
    try:
        outcomes = [future.result(timeout=60) for future in [pool.submit(t) for t in tasks]]
    finally:
        pool.close()
    assert [[o.rel_path for o in result] for result in outcomes] == [
        [files[i % 3]] for i in range(12)
    ]
    # Elsewhere than Linux the pipe keeps its size, and nothing is sent ahead.
    ahead = room is None and ahead_bytes is None and sys.platform == "linux"
    assert max(depths) == (2 if ahead else 1)


def test_a_death_with_tasks_sent_ahead_loses_none_of_them(
    monkeypatch: pytest.MonkeyPatch, executors: list[int]
) -> None:
    """Twelve tasks on two workers, so that tasks are sent ahead; the worker that reaches the
    killer dies with one sent ahead. Every other task's outcomes still arrive, once."""
    files = ["crates/napi-shim/src/lib.rs", "crates/slab-arena/src/node.rs", KILLER]

    def hook(rel_path: str) -> None:
        if rel_path == KILLER:
            os._exit(70)

    monkeypatch.setattr(parallel, "_crash_hook", hook)
    chosen = load_rules()
    tasks = [
        CrateTask(i, f"crate{i}", (FileJob(files[i % 3], (SEEDED / files[i % 3]).read_bytes()),))
        for i in range(12)
    ]
    results: dict[int, list[str]] = {}

    def on_result(task: CrateTask, outcomes: list[object]) -> None:
        assert task.task_id not in results
        results[task.task_id] = [o.rel_path for o in outcomes]  # type: ignore[attr-defined]

    with _zygote_for(chosen):
        problems = parallel.run_tasks(tasks, chosen, 2, on_result)
    killed = [t.task_id for t in tasks if t.files[0].rel_path == KILLER]
    assert sorted(results) == list(range(12))
    assert all(results[i] == [files[i % 3]] for i in range(12) if i not in killed)
    assert all(results[i] == [] for i in killed)  # its only file dropped, reported below
    assert [p.path for p in problems] == [KILLER] * len(killed)
    assert executors[0] == 2 and len(executors) > 1  # the pool broke; pools after it too


def _compiling_until(go: Path, monkeypatch: pytest.MonkeyPatch, *, then_fail: bool) -> Path:
    """A zygote started after this compiles only once `go` exists (30 s at most), then notes
    in the file returned whether `go` was there, and fails if told to (as a zygote that dies
    compiling does: it exits without forking)."""
    real = parallel.prepare_worker
    noted = go.parent / "compiled.txt"

    def prepare(chosen: list[CompiledRule]) -> object:
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        noted.write_text("after go" if go.exists() else "timed out", encoding="utf-8")
        if then_fail:
            raise RuntimeError("the zygote failed to compile")
        return real(chosen)

    monkeypatch.setattr(parallel, "prepare_worker", prepare)
    return noted


def test_a_pool_takes_tasks_while_the_zygote_is_still_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool asks the zygote for its workers without waiting for them (the parent finds the
    workspace's files meanwhile): a task is submitted before the zygote has compiled, and
    runs once it has."""
    go = tmp_path / "go"
    noted = _compiling_until(go, monkeypatch, then_fail=False)
    chosen = load_rules()
    data = (SEEDED / KILLER).read_bytes()
    with _zygote_for(chosen):
        pool = WorkerPool(chosen, 2)
        try:
            assert isinstance(pool.executor, ZygoteExecutor)
            future = pool.submit(CrateTask(0, "component-lower", (FileJob(KILLER, data),)))
            assert not noted.exists()  # submitted, the zygote still compiling
            go.touch()
            assert [o.rel_path for o in future.result(timeout=60)] == [KILLER]
        finally:
            pool.close()
    assert noted.read_text(encoding="utf-8") == "after go"


def test_a_zygote_that_stops_before_forking_leaves_its_tasks_to_a_pool_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executors: list[int]
) -> None:
    """Asked for workers, the zygote dies compiling: every task then runs on a pool the parent
    forks, with the in-process report, and none is taken for a suspect (no task ever started:
    isolating each would rerun them one by one)."""
    go = tmp_path / "go"
    noted = _compiling_until(go, monkeypatch, then_fail=True)
    real_init = ZygoteExecutor.__init__

    def asked_then_go(self: ZygoteExecutor, *args: object) -> None:
        real_init(self, *args)  # type: ignore[arg-type]
        go.touch()  # the zygote has the requests: it fails after they were sent

    monkeypatch.setattr(ZygoteExecutor, "__init__", asked_then_go)
    isolated: list[CrateTask] = []
    real_isolate = parallel._isolate

    def isolate(task: CrateTask, *args: object) -> object:
        isolated.append(task)
        return real_isolate(task, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "_isolate", isolate)
    chosen = load_rules()
    with _zygote_for(chosen):
        owner = zygote.current_zygote()
        assert owner is not None
        report = scan_folder(SEEDED, jobs=2, rules=chosen)
        assert owner.failed and not owner.serves(chosen)
    assert noted.read_text(encoding="utf-8") == "after go"
    assert executors == [2]  # the zygote's pool only: the next one is the parent's own
    assert isolated == []
    assert render_json(report) == render_json(scan_folder(SEEDED, rules=chosen))


def test_a_worker_inherits_the_zygotes_objects_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The zygote freezes what its workers inherit (`gc.freeze`) before it forks them: a
    worker's full collections skip it. The hook reports the worker's frozen count by failing."""
    import gc

    def hook(rel_path: str) -> None:
        raise LookupError(f"frozen {gc.get_freeze_count()}")

    monkeypatch.setattr(parallel, "_crash_hook", hook)
    gc.unfreeze()  # nothing frozen in this process: the count is the zygote's doing
    chosen = load_rules()
    with _zygote_for(chosen):
        pool = WorkerPool(chosen, 1)
        try:
            data = (SEEDED / KILLER).read_bytes()
            future = pool.submit(CrateTask(0, "component-lower", (FileJob(KILLER, data),)))
            with pytest.raises(Exception, match=r"frozen \d+") as failed:
                future.result(timeout=60)
        finally:
            pool.close()
    frozen = int(str(failed.value).rsplit(" ", 1)[1])
    assert frozen > 10_000  # the modules and the compiled rules, at least
