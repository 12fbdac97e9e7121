"""The process pool gives the sequential scan's results exactly, and survives a dying worker.

Crash isolation is tested with a real process death (`os._exit` in the worker, through a hook
that only this test can set: a module attribute inherited by the forked workers).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_scan_support import RULE_FIXTURES, SEEDED, scan_folder

from unsound.cli.entry import main
from unsound.dsl.loader import load_rules
from unsound.engine import parallel
from unsound.engine.prefilter import RuleSetPrefilter
from unsound.engine.scan import plan_tasks
from unsound.engine.sources import SourceFile
from unsound.model import ProblemKind, Report
from unsound.report.json_report import render_json

fork_only = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="the crash hook reaches workers by fork",
)


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["--manifest-path", str(SEEDED / "Cargo.toml"), "--format", "json", *args])
    return code, capsys.readouterr().out


def test_seeded_json_is_byte_identical_with_one_and_two_jobs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    one = _json(capsys, "-j1", "--no-cache")
    two = _json(capsys, "-j2", "--no-cache")
    assert one == two
    assert one[0] == 1 and len(json.loads(one[1])["findings"]) == 9


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_pool_equals_in_process_scan_on_seeded_workspace(jobs: int) -> None:
    assert render_json(scan_folder(SEEDED, jobs=jobs)) == render_json(scan_folder(SEEDED))


@pytest.mark.parametrize("crate", sorted(p.parent.name for p in RULE_FIXTURES.glob("*/Cargo.toml")))
def test_pool_equals_in_process_scan_on_rule_fixtures(crate: str) -> None:
    sequential = scan_folder(RULE_FIXTURES / crate)
    assert sequential.findings, "each rule fixture crate has findings"
    assert render_json(scan_folder(RULE_FIXTURES / crate, jobs=2)) == render_json(sequential)


def test_big_crates_are_sliced_but_every_task_carries_the_whole_crate() -> None:
    sources = [
        SourceFile(Path(f"/w/{n}.rs"), f"{n}.rs", "big" if n < 8 else "small", b"x" * 100, None)
        for n in range(10)
    ]
    tasks = plan_tasks(sources, cached={9}, jobs=4)
    big = [t for t in tasks if t.crate == "big"]
    assert len(big) > 1
    assert all(len(t.files) == 8 for t in big)
    scanned = [job.rel_path for t in tasks for job in t.files if job.scan]
    assert sorted(scanned) == sorted(s.rel_path for s in sources[:9])


def test_prefilter_agrees_with_each_rules_own() -> None:
    rules = load_rules()
    prefilter = RuleSetPrefilter(rules)
    for path in sorted(SEEDED.rglob("*.rs")):
        data = path.read_bytes()
        assert prefilter.wanted(data) == {r.id for r in rules if r.may_match(data)}


@pytest.fixture
def crash_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Files named here kill the worker process that reaches them."""
    names: list[str] = []

    def hook(rel_path: str) -> None:
        if rel_path in names:
            os._exit(70)

    monkeypatch.setattr(parallel, "_crash_hook", hook)
    yield names


def _by_path(report: Report) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for finding in report.findings:
        out.setdefault(finding.primary.path, []).append(
            (finding.rule_id, finding.primary.span.start_line)
        )
    return out


@fork_only
def test_a_worker_death_costs_only_the_file_it_died_on(crash_on: list[str]) -> None:
    killer = "crates/component-lower/src/raw/byte_view.rs"
    crash_on.append(killer)
    expected = _by_path(scan_folder(SEEDED))
    report = scan_folder(SEEDED, jobs=2)
    not_scanned = [p for p in report.problems if p.kind is ProblemKind.NOT_SCANNED]
    assert [p.path for p in not_scanned] == [killer]
    assert "died" in not_scanned[0].message
    del expected[killer]
    assert _by_path(report) == expected
    assert not report.complete


@fork_only
def test_every_death_is_isolated_and_the_scan_still_finishes(crash_on: list[str]) -> None:
    crash_on.extend(["crates/napi-shim/src/lib.rs", "crates/slab-arena/src/node.rs"])
    report = scan_folder(SEEDED, jobs=2)
    dead = sorted(p.path for p in report.problems if p.kind is ProblemKind.NOT_SCANNED)
    assert dead == sorted(crash_on)
    assert "crates/component-lower/src/data.rs" in _by_path(report)


@fork_only
def test_a_worker_death_exits_3_through_the_cli(
    crash_on: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    crash_on.append("crates/napi-shim/src/lib.rs")
    code, out = _json(capsys, "-j2", "--no-cache")
    assert code == 3
    report = json.loads(out)
    assert len(report["findings"]) == 9


def test_the_crash_hook_is_not_consulted_in_process(crash_on: list[str]) -> None:
    crash_on.append("crates/napi-shim/src/lib.rs")
    assert scan_folder(SEEDED).complete


def test_crates_streamed_from_discovery_give_the_all_at_once_scan() -> None:
    from unsound.engine.scan import scan_crates, scan_sources
    from unsound.engine.sources import CrateSources, collect_sources
    from unsound.engine.workspace import find_manifest, load_workspace, select_packages

    workspace = load_workspace(find_manifest(manifest_path=None, path=SEEDED, cwd=SEEDED))
    packages = select_packages(workspace, packages=[], workspace=True, exclude=[])
    assert len(packages) > 1
    rules = load_rules()
    sources, _ = collect_sources(packages, workspace.root)
    findings, problems = scan_sources(sources, rules)
    stream = CrateSources(packages, workspace.root)
    streamed, streamed_findings, streamed_problems = scan_crates(stream, rules, jobs=2)
    assert [s.rel_path for s in streamed] == [s.rel_path for s in sources]
    assert streamed_findings == findings and findings
    assert streamed_problems == problems


def test_worker_start_compiles_what_every_file_needs_first() -> None:
    """Rules from the compiled-rules cache compile their needles and regexes lazily; a worker
    of a full scan compiles them when it starts, so its first tasks do not wait for them. A
    worker for a few files leaves each needle's branches to the searches that try them, and
    each regex to the first candidate that asks for it."""
    import pickle

    from unsound.engine.matcher import RuleSetMatcher

    for few_files in (True, False):
        rules = pickle.loads(pickle.dumps(load_rules()))  # as the compiled-rules cache gives
        needles = [n for r in rules for n in (*r.prefilter, *r.region_prefilter)]
        assert needles and all(vars(n)["_searchers"] is None for n in needles)
        matcher = RuleSetMatcher(rules)
        if few_files:
            matcher.compile_for_few_files()
        else:
            matcher.compile_all()
        compiled = [set(vars(r.regexes)["_compiled"]) for r in rules]
        if few_files:
            assert all(vars(n)["_searchers"] is None for n in needles)
            assert not any(compiled)
        else:
            branches = [b for n in needles for group in vars(n)["_searchers"] for b in group]
            assert branches and all(branch.compiled is not None for branch in branches)
            assert compiled == [set(r.regexes) for r in rules] and any(compiled)


def test_a_worker_for_few_files_builds_only_the_query_its_task_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rescan's worker (`compile_for_few_files`) compiles needles at start but no query; its
    task builds one query for the rules its files want, and finds what a worker
    with the whole set's query finds."""
    from unsound.engine import crate_scan
    from unsound.engine import matcher as matcher_module
    from unsound.engine.crate_scan import CrateTask, FileJob
    from unsound.engine.matcher import RuleSetMatcher
    from unsound.engine.sources import collect_sources
    from unsound.engine.workspace import find_manifest, load_workspace, select_packages

    rules = load_rules()
    built: list[int] = []
    real_query = matcher_module.Query

    def counting(language, source):  # type: ignore[no-untyped-def]
        built.append(source.count("@root"))
        return real_query(language, source)

    workspace = load_workspace(find_manifest(manifest_path=None, path=SEEDED, cwd=SEEDED))
    packages = select_packages(workspace, packages=[], workspace=True, exclude=[])
    sources, _ = collect_sources(packages, workspace.root)
    crate = [s for s in sources if s.crate == "slab-arena"]
    task = CrateTask(0, "slab-arena", tuple(FileJob(s.rel_path, s.data, True) for s in crate))

    eager = RuleSetMatcher(rules)
    eager.compile_all()
    expected = crate_scan.scan_crate(task, eager, RuleSetPrefilter(rules))
    assert any(outcome.findings for outcome in expected)

    monkeypatch.setattr(matcher_module, "Query", counting)
    few = RuleSetMatcher(rules)
    few.compile_for_few_files()
    assert built == []
    outcomes = crate_scan.scan_crate(task, few, RuleSetPrefilter(rules))
    assert outcomes == expected
    # One query, for the wanted rules' patterns: fewer than the whole set's.
    (patterns,) = built
    assert 0 < patterns < eager._combined.size


def test_the_parent_plans_and_caches_without_importing_the_matcher() -> None:
    """The matcher, its conditions and relations are the workers' (`crate_task` holds what
    crosses the pool): a rescan's parent starts discovery without importing them, nor the
    crate index (which the scan cache imports only to ask a changed file about it)."""
    import subprocess
    import sys

    modules = "unsound.cli.scan_cmd, unsound.engine.scan, unsound.engine.parallel"
    check = (
        f"import sys, {modules}, unsound.engine.cache, unsound.engine.manifest_memo\n"
        "heavy = [m for m in ('unsound.engine.matcher', 'unsound.engine.conditions',"
        " 'unsound.engine.relations', 'unsound.engine.crate_scan',"
        " 'unsound.engine.crate_index') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_worker_told_the_changed_files_builds_their_query_before_its_task() -> None:
    """`_prepare_for` (the pool's `expected` files): the query for what the changed files want
    is built at start; the task that brings those files reuses it and builds none."""
    from unsound.engine import matcher as matcher_module
    from unsound.engine.crate_scan import CrateTask, FileJob, scan_crate
    from unsound.engine.matcher import RuleSetMatcher

    rules = load_rules()
    path = SEEDED / "crates" / "slab-arena" / "src" / "handle.rs"  # wanted by 11 of 32 rules
    matcher, prefilter = RuleSetMatcher(rules), RuleSetPrefilter(rules)
    matcher.compile_for_few_files()
    parallel._prepare_for(matcher, prefilter, (str(path),))
    assert matcher._covering is not None and matcher._covering[1].built
    prepared = matcher._covering
    task = CrateTask(
        0, "slab-arena", (FileJob("crates/slab-arena/src/handle.rs", path.read_bytes()),)
    )
    built: list[str] = []
    real_query = matcher_module.Query
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            matcher_module, "Query", lambda lang, src: built.append(src) or real_query(lang, src)
        )
        outcomes = scan_crate(task, matcher, prefilter)
    assert built == [] and matcher._covering is prepared
    eager = RuleSetMatcher(rules)
    eager.compile_all()
    assert outcomes == scan_crate(task, eager, RuleSetPrefilter(rules))
    assert any(outcome.findings for outcome in outcomes)
