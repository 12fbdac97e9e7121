"""Nothing from the scanned tree is executed, imported or followed out of the workspace root.

cargo-unsound runs on pull requests from strangers, so `tests/fixtures/hostile` holds everything
that would run code if a tool built, imported or shelled out to the tree: a build script, a proc
macro, a `.cargo/config.toml` with an alias, a `rustc-wrapper` and a runner, Python files named
like the modules the tool imports, and a rule file. Each leaves a `PWNED-*` marker when it runs.
The scan goes through the real CLI, with fake `cargo`, `rustc`, `git` and `sh` first on PATH
(they leave markers too), and the test asserts that no marker appears and that the tree's bug
was still found (a scan that read nothing would also run nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from unsound.cli.entry import main

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
CLI = Path(sys.executable).with_name("cargo-unsound")
# Module names the tool imports, shadowed in the tree: imported from there only if the tree's
# folder were on sys.path.
PYTHON_DECOYS = (
    "conftest.py",
    "setup.py",
    "build.py",
    "sitecustomize.py",
    "usercustomize.py",
    "tomllib.py",
    "tree_sitter.py",
    "tree_sitter_rust.py",
    "typer.py",
    "lark.py",
    "unsound/__init__.py",
    "unsound/__main__.py",
    "crates/app/tomllib.py",
)
FAKE_TOOLS = ("cargo", "rustc", "git", "rustup", "sh", "bash", "python3")


def hostile_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the hostile fixture with the Python decoys in place, and the marker folder."""
    tree = tmp_path / "tree"
    shutil.copytree(HOSTILE, tree, symlinks=True)
    payload = (HOSTILE / "scripts" / "pwn.py.txt").read_text(encoding="utf-8")
    for name in PYTHON_DECOYS:
        decoy = tree / name
        decoy.parent.mkdir(parents=True, exist_ok=True)
        decoy.write_text(payload, encoding="utf-8")
    markers = tmp_path / "markers"
    markers.mkdir()
    return tree, markers


def fake_tools(tmp_path: Path, markers: Path) -> Path:
    """A folder of executables named like the tools a scanner might call; each leaves a marker."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    for tool in FAKE_TOOLS:
        script = folder / tool
        script.write_text(f"#!/bin/sh\n: > '{markers}/PWNED-ran-{tool}'\nexit 0\n")
        script.chmod(0o755)
    return folder


def markers_left(tree: Path, markers: Path) -> list[str]:
    return sorted(p.name for folder in (tree, markers) for p in folder.rglob("PWNED-*"))


@pytest.mark.parametrize(
    "extra",
    [["--all-files"], ["--rules", "rules/hostile.rules"], ["crates/app"]],
    ids=["all-files", "tree-rule-file", "from-member"],
)
def test_cli_scan_of_a_hostile_tree_runs_nothing(tmp_path: Path, extra: list[str]) -> None:
    tree, markers = hostile_tree(tmp_path)
    bin_folder = fake_tools(tmp_path, markers)
    env = {
        "PATH": f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "HOSTILE_MARKER_DIR": str(markers),
        "CARGO_HOME": str(tmp_path / "cargo-home"),
        "PYTHONHASHSEED": "0",
    }
    args = [str(CLI), "--format", "json", "--workspace", *extra]
    if extra == ["crates/app"]:
        args.remove("--workspace")
    result = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    assert markers_left(tree, markers) == []
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(f["rule"], f["path"], f["line"]) for f in report["findings"]}
    assert ("raw-pointer-escapes-lifetime", "crates/app/src/lib.rs", 11) in found
    tree_rule = [f["message"] for f in report["findings"] if f["rule"] == "hostile-tree-rule"]
    if "--rules" in extra:  # named by the user: it runs, as data, its payload left as text
        assert tree_rule and all("$(touch PWNED-rule-message)" in m for m in tree_rule)
    else:  # a rule file in the tree is never picked up on its own
        assert tree_rule == []


def test_in_process_scan_starts_no_other_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every way Python can start a program is watched; only our own interpreter may be started.

    Forking is allowed (the parallel scan forks workers that run this package's code); `exec`-ing
    or spawning anything but `sys.executable` is not.
    """
    tree, markers = hostile_tree(tmp_path)
    programs: list[str] = []

    def watch(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def started(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else kwargs.get("args", kwargs.get("path", ""))
            if name == "subprocess.Popen":
                first = args[1] if len(args) > 1 else kwargs.get("args", "")
            if isinstance(first, (list, tuple)):
                first = first[0] if first else ""
            programs.append(f"{name}: {first}")
            return original(*args, **kwargs)

        return started

    monkeypatch.setattr(
        subprocess.Popen, "__init__", watch("subprocess.Popen", subprocess.Popen.__init__)
    )
    for name in _SPAWNERS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, watch(f"os.{name}", getattr(os, name)))
    monkeypatch.setenv("HOSTILE_MARKER_DIR", str(markers))
    monkeypatch.chdir(tree)
    code = main(
        ["--workspace", "--all-files", "--format", "sarif", "--rules", "rules/hostile.rules"]
    )
    err = capsys.readouterr().err
    foreign = [p for p in programs if not p.endswith(sys.executable)]
    assert foreign == []
    assert markers_left(tree, markers) == []
    assert code == 1, err


_SPAWNERS = (
    "system",
    "popen",
    "posix_spawn",
    "posix_spawnp",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "execl",
    "execle",
    "execlp",
    "execlpe",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
)


def _bug_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.rs"
    path.write_text(
        "pub struct Leak<'a> { x: &'a u8, y: *mut u8 }\n"
        "pub fn leak<'a>(x: &'a u8, y: *mut u8) -> Leak<'a> { Leak { x, y } }\n",
        encoding="utf-8",
    )
    return path


def test_symlinks_out_of_the_root_are_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `mod` whose file is a link out of the root, a linked folder, a linked member: not read."""
    tree, _ = hostile_tree(tmp_path)
    outside = tmp_path / "outside"
    secret = _bug_file(outside)
    src = tree / "crates" / "app" / "src"
    (src / "escape.rs").symlink_to(secret)
    (src / "linked").symlink_to(outside, target_is_directory=True)
    with (src / "lib.rs").open("a", encoding="utf-8") as lib:
        lib.write("\nmod escape;\n")
    member = tmp_path / "outside-member"
    _bug_file(member / "src").rename(member / "src" / "lib.rs")
    (member / "Cargo.toml").write_text('[package]\nname = "linked-member"\nversion = "0.1.0"\n')
    (tree / "crates" / "linked-member").symlink_to(member, target_is_directory=True)

    code = main([str(tree), "--workspace", "--all-files", "--format", "json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    report = json.loads(captured.out)
    paths = {f["path"] for f in report["findings"]}
    assert paths == {"crates/app/src/lib.rs"}
    problems = {(p["path"], p["message"]) for p in report["problems"]}
    assert (
        "crates/app/src/lib.rs",
        "module `escape` declared at crates/app/src/lib.rs:15:1 loads `crates/app/src/escape.rs`, "
        "which is outside the workspace (after following symlinks); it was not read",
    ) in problems
    assert (
        "crates/app/src/linked",
        "`crates/app/src/linked` is outside the workspace (after following symlinks); "
        "it was not scanned",
    ) in problems
    assert any(p.startswith("crates/linked-member") for p, _ in problems), problems
    assert code == 3  # files were left unscanned: the scan is incomplete, and says so
