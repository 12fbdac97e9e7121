#!/usr/bin/env python3
"""Benchmark cargo-unsound against ast-grep and Semgrep on a large workspace (issue 6).

usage: bench/run.py WORKSPACE [--runs 5] [--semgrep-runs N] [--jobs N] [--select RULE ...]
                              [--no-scaling] [--scaling-rule RULE] [--touch FILE] [--markdown OUT]

Runs alternate (cold, warm, ast-grep, Semgrep, then again), so load from elsewhere on the machine
hits every tool alike; each figure is the median of the runs with its min–max. "cold" is
`--no-cache`; "warm" is a rescan after one file's content changed (a comment appended, a different
one each run, removed at the end). ast-grep runs `unsafe { $$$ }`; Semgrep the same pattern in its
own syntax (`unsafe { ... }`), `--metrics=off`. Memory is sampled from /proc: the peak sum of the
proportional set size (PSS, so pages that forked workers share with their parent are not counted
twice) over the tool's whole process tree, and the largest single process's peak RSS.

ast-grep and Semgrep are installed on first use into their own venvs under /tmp (`pip install
ast-grep-cli`, `pip install semgrep`), never into the project's. The scaling curve times cold scans
of a quarter, half and all of the workspace's files (packages taken in name order until the share
is reached, passed with `-p`) with one rule, and of 1, 10 and 50 rules: copies of one built-in
rule (`--scaling-rule`) under new ids, in a temporary rule folder, chosen with `--select`, so the
curve shows what each further rule costs the engine, not how expensive one rule is. The package
is run from a snapshot of `unsound/` taken at start (`--code`, default the committed HEAD), so
edits during a run change nothing.

This script never runs in the test suite: speed is measured here, correctness in tests.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARGO_UNSOUND = [sys.executable, "-m", "unsound"]
# The package is run from a copy taken at start: an edit to the checkout during a run would
# otherwise change the engine mid-benchmark (and, through the cache key, empty the cache).
SNAPSHOT = Path(tempfile.mkdtemp(prefix="unsound-bench-code-"))
VENVS = {
    "ast-grep": (Path("/tmp/venv-astgrep"), "ast-grep-cli"),
    "semgrep": (Path("/tmp/venv-semgrep"), "semgrep"),
}
AST_GREP_RULE = ["run", "-p", "unsafe { $$$ }", "-l", "rust"]
SEMGREP_RULE = """rules:
  - id: unsafe-block
    languages: [rust]
    severity: INFO
    message: unsafe block
    pattern: "unsafe { ... }"
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    peak_pss_mib: float
    max_rss_mib: float


@dataclass
class Series:
    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, attribute: str = "wall") -> float:
        return float(statistics.median(getattr(s, attribute) for s in self.samples))

    def spread(self, attribute: str = "wall") -> tuple[float, float]:
        values = [getattr(s, attribute) for s in self.samples]
        return min(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--semgrep-runs", type=int, default=None, help="default: --runs; 0 skips")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--touch", type=Path, help="file changed before each warm run")
    parser.add_argument("--select", action="append", default=[], help="rules for the comparison")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument(
        "--scaling-rule", default="raw-pointer-escapes-lifetime", help="the rule copied N times"
    )
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    parser.add_argument(
        "--code", default="HEAD", help="git revision of unsound/ to run, or 'worktree'"
    )
    args = parser.parse_args()
    workspace = args.workspace.resolve()
    if not workspace.is_dir():
        raise SystemExit(f"{args.workspace} is not a folder: pass the folder of a Rust workspace")
    snapshot_code(args.code)
    semgrep_runs = args.runs if args.semgrep_runs is None else args.semgrep_runs
    ast_grep = tool("ast-grep", "ast-grep")
    semgrep = tool("semgrep", "semgrep") if semgrep_runs else None
    touched = (args.touch or pick_touch_file(workspace)).resolve()
    original = touched.read_bytes()
    lines = [
        f"# cargo-unsound benchmark on {workspace.name}",
        "",
        *environment(ast_grep, semgrep, args.code),
    ]
    lines += [
        f"- workspace: {describe(workspace)}",
        f"- warm runs change: `{touched.relative_to(workspace)}`",
        "",
    ]
    try:
        lines += compare(workspace, args, ast_grep, semgrep, semgrep_runs, touched, original)
        if not args.no_scaling:
            lines += scaling_by_files(workspace, args, ast_grep)
            lines += scaling_by_rules(workspace, args)
    finally:
        touched.write_bytes(original)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines += [f"Load average at the end: {load}.", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


def compare(
    workspace: Path,
    args: argparse.Namespace,
    ast_grep: Path,
    semgrep: Path | None,
    semgrep_runs: int,
    touched: Path,
    original: bytes,
) -> list[str]:
    base = [
        *CARGO_UNSOUND,
        "--workspace",
        "-q",
        "--format",
        "json",
        "-o",
        os.devnull,
        "-j",
        str(args.jobs),
        *[arg for rule in args.select for arg in ("--select", rule)],
    ]
    cold = Series("cargo-unsound, cold (`--no-cache`)")
    warm = Series("cargo-unsound, warm (one file changed)")
    grep = Series("ast-grep `unsafe { $$$ }`")
    sem = Series("Semgrep `unsafe { ... }`")
    measure([*base, str(workspace)])  # prime the cache (and the OS file cache)
    for run in range(args.runs):
        cold.samples.append(measure([*base, "--no-cache", str(workspace)]))
        touched.write_bytes(original + f"\n// bench run {run}\n".encode())
        warm.samples.append(measure([*base, str(workspace)]))
        grep.samples.append(
            measure([str(ast_grep), *AST_GREP_RULE, "-j", str(args.jobs), str(workspace)])
        )
        if semgrep is not None and run < semgrep_runs:
            sem.samples.append(measure(semgrep_command(semgrep, workspace, args.jobs)))
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    touched.write_bytes(original)
    series = [cold, warm, grep] + ([sem] if sem.samples else [])
    reference = grep.median()
    out = [
        f"## Tools on the whole workspace ({args.runs} alternating runs, -j {args.jobs}, "
        f"rules: {', '.join(args.select) or 'every built-in rule'})",
        "",
        "| what | wall median | wall min–max | CPU median | × ast-grep "
        "| peak PSS (tree) | peak RSS (largest process) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in series:
        low, high = s.spread()
        out.append(
            f"| {s.name} | {s.median():.2f} s | {low:.2f}–{high:.2f} s | {s.median('cpu'):.2f} s "
            f"| {s.median() / reference:.2f} | {s.median('peak_pss_mib'):.0f} MiB "
            f"| {s.median('max_rss_mib'):.0f} MiB |"
        )
    return [*out, ""]


def snapshot_code(revision: str, into: Path = SNAPSHOT) -> None:
    """Copy `unsound/` (from a git revision of this repository, or the work tree) to `into`.

    A committed revision is coherent; a work tree that others are editing may not be. The copy
    is byte-compiled, as `pip install` does: without it, every timed run would compile the
    tool's modules again where PYTHONDONTWRITEBYTECODE is set (0.08 s per run here). It also
    gets the compiled built-in rules the package's build writes (`setup.py`), when the
    revision has them (`unsound/dsl/rule_bundle.py`), so that the runs time the tool as
    installed.
    """
    if revision == "worktree":
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "unsound", into / "unsound", ignore=ignore)
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "unsound"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    if not compileall.compile_dir(into / "unsound", quiet=1):
        raise SystemExit("could not byte-compile the snapshot of unsound/")
    if (into / "unsound" / "dsl" / "rule_bundle.py").is_file():
        build = "import sys, pathlib; from unsound.dsl.rule_bundle import build_bundle; "
        build += "build_bundle(pathlib.Path(sys.argv[1]))"
        rulesets = into / "unsound" / "rulesets"
        env = {**os.environ, "PYTHONPATH": str(into)}
        subprocess.run([sys.executable, "-c", build, str(rulesets)], check=True, env=env, cwd=into)


def cold_command(args: argparse.Namespace, *extra: str) -> list[str]:
    """cargo-unsound, cold, JSON to nowhere, with the bench's jobs."""
    return [
        *CARGO_UNSOUND,
        "-q",
        "--no-cache",
        "--format",
        "json",
        "-o",
        os.devnull,
        "-j",
        str(args.jobs),
        *extra,
    ]


def scaling_by_files(workspace: Path, args: argparse.Namespace, ast_grep: Path) -> list[str]:
    """Cold scans of packages holding a quarter, half and all of the files (name order)."""
    packages = package_files(workspace)
    total = sum(count for _, count, _ in packages)
    out = [
        f"## Scaling with files (cold, {args.runs} runs, -j {args.jobs}, "
        f"rule `{args.scaling_rule}`)",
        "",
        "| share | packages | files | cargo-unsound | ast-grep (same folders) |",
        "|---|---|---|---|---|",
    ]
    for share in (0.25, 0.5, 1.0):
        chosen, files = [], 0
        for name, count, _ in packages:
            if files >= share * total:
                break
            chosen.append(name)
            files += count
        roots = sorted({str(root) for name, _, root in packages if name in chosen})
        ours, theirs = Series("ours"), Series("ast-grep")
        selection = [arg for name in chosen for arg in ("-p", name)] if share < 1 else []
        command = cold_command(args, "--select", args.scaling_rule, *selection, str(workspace))
        if share == 1:
            command.insert(len(CARGO_UNSOUND), "--workspace")
        for _ in range(args.runs):
            ours.samples.append(measure(command))
            theirs.samples.append(
                measure([str(ast_grep), *AST_GREP_RULE, "-j", str(args.jobs), *roots])
            )
        out.append(f"| {share:.0%} | {len(chosen)} | {files} | {fmt(ours)} | {fmt(theirs)} |")
    return [*out, ""]


def scaling_by_rules(workspace: Path, args: argparse.Namespace) -> list[str]:
    """Cold scans with 1, 10 and 50 copies of one rule, then with 1, 10 and all of the distinct
    rules on by default: the cost of a rule beyond the first."""
    out = [
        f"## Scaling with rules (cold, whole workspace, {args.runs} runs, -j {args.jobs})",
        "",
        f"N copies of `{args.scaling_rule}` under new ids, selected with `--select`.",
        "",
        "| rules | cargo-unsound | × 1 rule |",
        "|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="unsound-rules-") as folder:
        ids = write_copies(Path(folder), args.scaling_rule, 50)
        one: float | None = None
        for count in (1, 10, 50):
            select = [arg for rule_id in ids[:count] for arg in ("--select", rule_id)]
            series = Series(str(count))
            command = cold_command(args, "--workspace", "--rules", folder, *select, str(workspace))
            for _ in range(args.runs):
                series.samples.append(measure(command))
            one = one or series.median()
            out.append(f"| {count} | {fmt(series)} | {series.median() / one:.2f} |")
    # Copies share everything a rule set can share (patterns, node facts, region tests), so
    # they are the best case; distinct built-in rules are the case users have.
    defaults = default_rule_ids(args.scaling_rule)
    out += [
        "",
        f"The first N rules on by default (`{args.scaling_rule}` first, then by id), "
        "selected with `--select`: distinct rules, each with its own candidates.",
        "",
        "| rules | cargo-unsound | × 1 rule |",
        "|---|---|---|",
    ]
    first: float | None = None
    for count in sorted({1, 10, len(defaults)}):
        select = [arg for rule_id in defaults[:count] for arg in ("--select", rule_id)]
        series = Series(str(count))
        command = cold_command(args, "--workspace", *select, str(workspace))
        for _ in range(args.runs):
            series.samples.append(measure(command))
        first = first or series.median()
        out.append(f"| {count} | {fmt(series)} | {series.median() / first:.2f} |")
    return [*out, ""]


def default_rule_ids(first: str) -> list[str]:
    """The ids of the rules on by default, `first` leading, the rest by id."""
    sys.path.insert(0, str(SNAPSHOT))
    from unsound.cli.selection import select_rules

    ids = sorted(rule.id for rule in select_rules([], [], []))
    return [first, *(rule_id for rule_id in ids if rule_id != first)]


def write_copies(folder: Path, rule_id: str, count: int) -> list[str]:
    """`count` copies of a built-in rule under new ids, in one rule file."""
    sys.path.insert(0, str(SNAPSHOT))
    from unsound.dsl.loader import builtin_rule_files

    header = re.compile(r"^rule\s+([a-z0-9-]+)\s*\{", re.MULTILINE)
    for _, _, text in builtin_rule_files():
        starts = [m for m in header.finditer(text)]
        for index, match in enumerate(starts):
            if match.group(1) == rule_id:
                end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
                body = text[match.start() : end]
                break
        else:
            continue
        break
    else:
        raise SystemExit(f"no built-in rule `{rule_id}`")
    ids = [f"{rule_id}-copy{n}" for n in range(1, count + 1)]
    copies = [header.sub(f"rule {new} {{", body, count=1) for new in ids]
    (folder / "synthetic.rules").write_text("\n".join(copies), encoding="utf-8")
    return ids


def measure(command: list[str], code: Path = SNAPSHOT) -> Sample:
    """Wall and CPU time of one run (cargo-unsound from the snapshot `code`), with its process
    tree's peak PSS and largest RSS."""
    start = time.perf_counter()
    before = os.times()
    env = {**os.environ, "PYTHONPATH": str(code)}
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=code, env=env
    )
    peak = [0.0, 0.0]
    sampler = threading.Thread(target=sample_memory, args=(process, peak), daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    after = os.times()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[:4]}… exited {process.returncode}: {stderr.decode()[-2000:]}")
    cpu = after.children_user - before.children_user
    cpu += after.children_system - before.children_system
    return Sample(wall, cpu, peak[0], peak[1])


def sample_memory(process: subprocess.Popen[bytes], peak: list[float]) -> None:
    """The tree's summed PSS and the largest process's high-water RSS (VmHWM), every 100 ms.

    Not more often: reading smaps takes the measured process's memory lock.
    """
    while process.poll() is None:
        pids = tree(process.pid)
        peak[0] = max(peak[0], sum(proc_kib(pid, "smaps_rollup", "Pss") for pid in pids) / 1024)
        peak[1] = max(peak[1], max(proc_kib(pid, "status", "VmHWM") for pid in pids) / 1024)
        time.sleep(0.1)


def tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        out.extend(frontier)
    return out


def proc_kib(pid: int, name: str, key: str) -> int:
    """A `key: N kB` figure from /proc/PID/NAME (0 if the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def semgrep_command(semgrep: Path, workspace: Path, jobs: int) -> list[str]:
    rule = Path(tempfile.gettempdir()) / "unsound-bench-semgrep.yml"
    rule.write_text(SEMGREP_RULE, encoding="utf-8")
    return [
        str(semgrep),
        "scan",
        "--metrics=off",
        "--disable-version-check",
        "--config",
        str(rule),
        "-j",
        str(jobs),
        "--quiet",
        "--json",
        "-o",
        os.devnull,
        str(workspace),
    ]


def tool(name: str, executable: str) -> Path:
    """The tool's executable in its own venv under /tmp, installed with pip on first use."""
    venv, package = VENVS[name]
    path = venv / "bin" / executable
    if not path.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=True)
    return path


def pick_touch_file(workspace: Path) -> Path:
    """A typical file the rules look at: the median-sized `.rs` file that contains `unsafe`
    (any `.rs` file when none does)."""
    sources = sorted(
        (p for p in workspace.rglob("*.rs") if "target" not in p.parts),
        key=lambda p: (p.stat().st_size, str(p)),
    )
    if not sources:
        raise SystemExit(f"no .rs file under {workspace}: pass the folder of a Rust workspace")
    candidates = [p for p in sources if b"unsafe" in p.read_bytes()] or sources
    return candidates[len(candidates) // 2]


def package_files(workspace: Path) -> list[tuple[str, int, Path]]:
    """(package, files it scans, its folder) for every member, in name order."""
    sys.path.insert(0, str(SNAPSHOT))
    from unsound.engine.sources import collect_sources
    from unsound.engine.workspace import find_manifest, load_workspace, select_packages

    ws = load_workspace(find_manifest(manifest_path=None, path=workspace, cwd=workspace))
    out = []
    for package in sorted(
        select_packages(ws, packages=[], workspace=True, exclude=[]), key=lambda p: p.name
    ):
        files, _ = collect_sources([package], ws.root)
        out.append((package.name, len(files), package.root))
    return out


def environment(ast_grep: Path, semgrep: Path | None, code: str) -> list[str]:
    def version(command: list[str]) -> str:
        try:
            return (
                subprocess.run(command, capture_output=True, text=True, check=False)
                .stdout.strip()
                .splitlines()[0]
            )
        except (OSError, IndexError):
            return "?"

    sys.path.insert(0, str(SNAPSHOT))
    from unsound import __version__ as ours

    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory = "?"
    with contextlib.suppress(OSError, ValueError):
        memory = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 1024 / 1024:.1f} GiB"
    return [
        f"- machine: {platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"{memory}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Python {platform.python_version()}; cargo-unsound {ours} at {revision(code)}",
        f"- {version([str(ast_grep), '--version'])}; "
        f"Semgrep {version([str(semgrep), '--version']) if semgrep else 'skipped'}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]


def revision(code: str) -> str:
    """The commit the timed code was taken from (`--code`), not the checkout's HEAD."""
    ref = "HEAD" if code == "worktree" else code
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    commit = result.stdout.strip() or "?"
    return f"{commit} with the work tree's changes" if code == "worktree" else commit


def describe(workspace: Path) -> str:
    files = [p for p in workspace.rglob("*.rs") if "target" not in p.parts]
    size = sum(p.stat().st_size for p in files)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return f"{len(files):,} `.rs` files, {lines:,} lines, {size / 1e6:.1f} MB"


def fmt(series: Series) -> str:
    low, high = series.spread()
    return f"{series.median():.2f} s ({low:.2f}–{high:.2f})"


if __name__ == "__main__":
    main()
