"""Compiling the later rule files in a forked child: the same rules, the same errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from unsound.dsl import forked_compile, loader
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.forked_compile import split_point
from unsound.dsl.loader import builtin_rule_files, compile_rule_files
from unsound.errors import RuleError

BAD = """rule broken-rule {
  title "Broken"
  severity warning
  match `unsafe { $..B }`
  where $MATCH frobnicates
}
"""


TWIN = """rule napi-external-by-value {
  title "Another rule under a built-in rule's id"
  severity warning
  match `unsafe { $..B }`
  message "unsafe block"
  location $MATCH "here"
  example bad `fn f() { unsafe { g() } } unsafe fn g() {} // ruleid: napi-external-by-value`
  example good `fn f() {}`
  help \"\"\"
  ## What it does
  Finds unsafe blocks.
  \"\"\"
}
"""


def comparable(rules: Sequence[CompiledRule]) -> list[tuple[object, ...]]:
    """What a rule holds (regexes by source, needles by their alternatives)."""
    return [
        (
            rule.info,
            rule.ast,
            rule.patterns,
            rule.relations,
            sorted(rule.regexes),
            [needle.alternatives for needle in (*rule.prefilter, *rule.region_prefilter)],
        )
        for rule in rules
    ]


def error_of(files: Sequence[tuple[str, str, str]], *, serial: bool) -> RuleError:
    with pytest.raises(RuleError) as raised:
        if serial:
            loader._compile_in_order(files, {})
        else:
            compile_rule_files(files)
    return raised.value


def test_the_built_in_packs_compile_in_two_processes_to_the_same_rules() -> None:
    files = builtin_rule_files()
    assert split_point(files) == 2
    assert comparable(compile_rule_files(files)) == comparable(loader._compile_in_order(files, {}))


def test_an_error_in_the_childs_files_is_reported_as_a_serial_compile_reports_it() -> None:
    files = [*builtin_rule_files()[:3], ("mine", "mine.rules", BAD)]
    assert split_point(files) == 2  # the broken file is the child's
    forked, serial = error_of(files, serial=False), error_of(files, serial=True)
    assert (forked.path, forked.line, forked.column) == ("mine.rules", 5, 16)
    assert str(forked) == str(serial)
    assert (forked.path, forked.line, forked.column) == (serial.path, serial.line, serial.column)


def test_a_rule_defined_in_both_halves_is_reported_where_a_serial_compile_reports_it() -> None:
    # The child compiles the copy without complaint (it has not seen the first definition);
    # the parent finds the duplicate when it takes the child's rules in file order.
    files = [*builtin_rule_files()[:3], ("mine", "mine.rules", "// a copy\n" + TWIN)]
    forked, serial = error_of(files, serial=False), error_of(files, serial=True)
    assert "rule `napi-external-by-value` is defined twice" in str(forked)
    assert (forked.path, forked.line, forked.column) == ("mine.rules", 2, 6)
    assert str(forked) == str(serial)


def test_a_child_that_dies_leaves_its_files_to_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    def die(files: Sequence[tuple[str, str, str]]) -> list[list[CompiledRule]]:
        os._exit(3)

    monkeypatch.setattr(loader, "_compile_each", die)
    files = builtin_rule_files()
    assert comparable(compile_rule_files(files)) == comparable(loader._compile_in_order(files, {}))


def test_little_rule_text_is_compiled_without_a_child() -> None:
    small = [("a", "a.rules", "x" * 100), ("b", "b.rules", "y" * 100)]
    assert split_point(small) == 0
    assert split_point(builtin_rule_files()[:1]) == 0


def test_a_process_that_may_not_fork_compiles_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A daemonic process (a pool's worker) may not start children: multiprocessing asserts.
    def refuse(self: object, files: object, compile_each: object) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(forked_compile.ChildCompile, "__init__", refuse)
    files = builtin_rule_files()
    assert comparable(compile_rule_files(files)) == comparable(loader._compile_in_order(files, {}))


def test_a_prefetched_compile_is_the_one_load_rules_finishes(rule_cache_folder: object) -> None:
    """`prefetch_builtin_rules` forks the child's share before the workspace is read; the
    `load_rules` that follows takes it (no second child) and gives the same rules."""
    loader.prefetch_builtin_rules(cache=False)
    files = tuple(builtin_rule_files())
    assert files in loader._PENDING
    started: list[object] = []
    real = forked_compile.ChildCompile.__init__

    def counting(self: forked_compile.ChildCompile, *args: object) -> None:
        started.append(args)
        real(self, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forked_compile.ChildCompile, "__init__", counting)
        prefetched = loader.load_rules()
    assert started == [] and files not in loader._PENDING
    assert comparable(prefetched) == comparable(loader._compile_in_order(list(files), {}))


def test_a_prefetch_with_the_rules_cached_reads_them_and_forks_nothing(
    rule_cache_folder: object,
) -> None:
    loader.load_rules(cache=True)  # compiles and fills the cache
    loader._COMPILED.clear()
    loader.prefetch_builtin_rules(cache=True)
    files = tuple(builtin_rule_files())
    assert files in loader._COMPILED and files not in loader._PENDING


def both_shares_forked(files: Sequence[tuple[str, str, str]]) -> None:
    """What `prefetch_builtin_rules` starts: a child and a grandchild compile both halves."""
    split = split_point(files)
    shares = [files[:split], files[split:]]
    child = forked_compile.ChildCompile(shares, loader._compile_each, loader._build_parser)
    loader._PENDING[tuple(files)] = ((0, split, len(files)), child)


def test_both_halves_forked_give_the_rules_and_errors_of_a_serial_compile() -> None:
    files = builtin_rule_files()
    both_shares_forked(files)
    assert comparable(compile_rule_files(files)) == comparable(loader._compile_in_order(files, {}))
    # The broken file is the grandchild's (the first half): its error is the serial one.
    broken = [("mine", "mine.rules", BAD), *builtin_rule_files()[:3]]
    both_shares_forked(broken)
    forked, serial = error_of(broken, serial=False), error_of(broken, serial=True)
    assert (forked.path, forked.line, forked.column) == ("mine.rules", 5, 16)
    assert str(forked) == str(serial)


def test_a_share_whose_process_dies_is_compiled_by_the_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = builtin_rule_files()
    first = files[0]
    real = loader._compile_each

    def die_on_the_first_half(share: Sequence[tuple[str, str, str]]) -> list[list[CompiledRule]]:
        if share[0] == first:
            os._exit(3)
        return real(share)

    monkeypatch.setattr(loader, "_compile_each", die_on_the_first_half)
    both_shares_forked(files)
    assert comparable(compile_rule_files(files)) == comparable(loader._compile_in_order(files, {}))


def test_a_scan_from_the_command_line_compiles_in_forked_processes_before_importing_typer(
    tmp_path: Path,
) -> None:
    """`cli.entry` starts the built-in rules' compilation before the CLI's imports (typer's
    among them), and the forked processes compile all of it: the scanning process neither
    imports lark nor compiles a rule, nor unpickles a rule's tree."""
    import subprocess
    import sys

    workspace = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"
    check = (
        "import os, sys\n"
        "from unsound.dsl import loader\n"
        "started = []\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            started.append(bool(loader._PENDING))\n"
        "sys.meta_path.insert(0, Watch())\n"
        "from unsound.cli.entry import main\n"
        "args = ['--no-cache', '-q', '--format', 'json', '-o', os.devnull]\n"
        f"code = main([*args, {str(workspace)!r}])\n"
        "print(code, started, 'lark' in sys.modules, 'unsound.dsl.compiler' in sys.modules,"
        " 'unsound.dsl.ast' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, env=env
    )
    # Nor does it unpickle the rules' trees: only the workers match (`dsl.rule_pickle`).
    assert result.stdout.split() == ["1", "[True]", "False", "False", "False"]


GOOD = TWIN.replace("napi-external-by-value", "my-unsafe-blocks")


def test_a_prefetched_compile_serves_a_run_with_its_own_rule_files_too(
    rule_cache_folder: object,
) -> None:
    """`--rules` files come after the built-in packs: their prefetched compilation is taken
    (no other child starts), the user's files are compiled after them, and the result and the
    errors are a serial compile's."""
    builtin = builtin_rule_files()
    started: list[object] = []
    real = forked_compile.ChildCompile.__init__

    def counting(self: forked_compile.ChildCompile, *args: object) -> None:
        started.append(args)
        real(self, *args)  # type: ignore[arg-type]

    files = [*builtin, ("mine", "mine.rules", GOOD)]
    loader.prefetch_builtin_rules(cache=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forked_compile.ChildCompile, "__init__", counting)
        rules = compile_rule_files(files)
    assert started == [] and tuple(builtin) not in loader._PENDING
    assert comparable(rules) == comparable(loader._compile_in_order(files, {}))
    assert rules[-1].id == "my-unsafe-blocks"
    # A user's rule under a built-in id: reported where a serial compile reports it.
    twin = [*builtin, ("mine", "mine.rules", "// a copy\n" + TWIN)]
    loader.prefetch_builtin_rules(cache=False)
    forked, serial = error_of(twin, serial=False), error_of(twin, serial=True)
    assert tuple(builtin) not in loader._PENDING
    assert (forked.path, forked.line, forked.column) == ("mine.rules", 2, 6)
    assert str(forked) == str(serial)
    # An error in the user's file itself (compiled while the built-in packs were).
    broken = [*builtin, ("mine", "mine.rules", BAD)]
    loader.prefetch_builtin_rules(cache=False)
    forked, serial = error_of(broken, serial=False), error_of(broken, serial=True)
    assert (forked.path, forked.line, forked.column) == ("mine.rules", 5, 16)
    assert str(forked) == str(serial)


def _big_share(files: Sequence[tuple[str, str, str]]) -> list[list[CompiledRule]]:
    """A share's compile that records its process and answers more than a pipe holds."""
    Path(files[0][2]).write_text(str(os.getpid()), encoding="utf-8")
    return [["x" * 500_000]]  # type: ignore[list-item]


def _ended(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaps counts: it holds nothing)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_shares_never_asked_for_end_with_the_run(tmp_path: Path) -> None:
    """A run that ends before it asks for the rules (a usage error) closes its ends of the
    pipes and stops the child; a grandchild whose share no longer fits in its pipe must then
    end too, not wait to write it forever (it held the run's stdout and stderr: a caller
    reading them to their end hung; seen in CI)."""
    marks = [tmp_path / "first", tmp_path / "second"]
    shares = [[("a", "a.rules", str(marks[0]))], [("b", "b.rules", str(marks[1]))]]
    child = forked_compile.ChildCompile(shares, _big_share)
    import time

    deadline = time.monotonic() + 30
    while not all(m.exists() and m.read_text() for m in marks) and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = [int(m.read_text()) for m in marks]
    child.close()  # without reading: as a run that exits early
    assert all(_ended(pid) for pid in pids)
