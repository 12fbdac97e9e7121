"""Target inference, rule by rule as in cargo's `util/toml/targets.rs` (checked with cargo 1.95)."""

from __future__ import annotations

from pathlib import Path

from ws_helpers import FIXTURES, package, write_tree

from unsound.engine.workspace import load_workspace

MAIN = "fn main() {}"

LAYOUT = {
    "src/lib.rs": "",
    "src/main.rs": MAIN,
    "src/bin/tool.rs": MAIN,
    "src/bin/multi/main.rs": MAIN,
    "src/bin/no_main/helper.rs": "",
    "src/bin/.hidden.rs": MAIN,
    "src/bin/notes.txt": "",
    "examples/ex.rs": MAIN,
    "examples/big/main.rs": MAIN,
    "tests/it.rs": "",
    "tests/suite/main.rs": "",
    "benches/b.rs": MAIN,
    "benches/heavy/main.rs": MAIN,
    "build.rs": MAIN,
}


def _targets(root: Path) -> set[tuple[str, str, str]]:
    ws = load_workspace(root / "Cargo.toml")
    (member,) = ws.members
    return {
        (target.kind, target.name, target.root.relative_to(root).as_posix())
        for target in member.targets
    }


def test_everything_cargo_infers(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": package("my-pkg"), **LAYOUT})
    assert _targets(root) == {
        ("lib", "my_pkg", "src/lib.rs"),
        ("bin", "my-pkg", "src/main.rs"),
        ("bin", "tool", "src/bin/tool.rs"),
        ("bin", "multi", "src/bin/multi/main.rs"),
        ("example", "ex", "examples/ex.rs"),
        ("example", "big", "examples/big/main.rs"),
        ("test", "it", "tests/it.rs"),
        ("test", "suite", "tests/suite/main.rs"),
        ("bench", "b", "benches/b.rs"),
        ("bench", "heavy", "benches/heavy/main.rs"),
        ("build-script", "build-script-build", "build.rs"),
    }


def test_explicit_targets_keep_inferred_ones_since_2018(tmp_path: Path) -> None:
    extra = '\n[[bin]]\nname = "renamed"\npath = "src/bin/tool.rs"\n'
    root = write_tree(tmp_path, {"Cargo.toml": package("p", extra), **LAYOUT})
    bins = {t for t in _targets(root) if t[0] == "bin"}
    # `tool` is dropped because its path is taken; the others stay.
    assert bins == {
        ("bin", "renamed", "src/bin/tool.rs"),
        ("bin", "p", "src/main.rs"),
        ("bin", "multi", "src/bin/multi/main.rs"),
    }


def test_edition_2015_explicit_targets_turn_inference_off(tmp_path: Path) -> None:
    extra = '\n[[bin]]\nname = "renamed"\npath = "src/bin/tool.rs"\n'
    root = write_tree(tmp_path, {"Cargo.toml": package("p", extra, edition="2015"), **LAYOUT})
    assert {t for t in _targets(root) if t[0] == "bin"} == {("bin", "renamed", "src/bin/tool.rs")}
    # ... unless autobins says otherwise.
    extra = 'autobins = true\n[[bin]]\nname = "renamed"\npath = "src/bin/tool.rs"\n'
    root = write_tree(tmp_path / "auto", {"Cargo.toml": package("p", extra, "2015"), **LAYOUT})
    assert len({t for t in _targets(root) if t[0] == "bin"}) == 3


def test_inherited_edition_counts(tmp_path: Path) -> None:
    manifest = (
        '[package]\nname = "p"\nversion.workspace = true\nedition.workspace = true\n'
        '[[example]]\nname = "ex"\n\n[workspace]\n[workspace.package]\nversion = "1.0.0"\n'
        'edition = "2015"\n'
    )
    root = write_tree(tmp_path, {"Cargo.toml": manifest, **LAYOUT})
    assert {t for t in _targets(root) if t[0] == "example"} == {("example", "ex", "examples/ex.rs")}


def test_auto_switches(tmp_path: Path) -> None:
    extra = (
        "autolib = false\nautobins = false\nautoexamples = false\nautotests = false\n"
        "autobenches = false\nbuild = false\n"
    )
    root = write_tree(
        tmp_path, {"Cargo.toml": package("p", extra + '[[bin]]\nname = "p"\n'), **LAYOUT}
    )
    # An explicit bin with no path is found by name among what Cargo would infer.
    assert _targets(root) == {("bin", "p", "src/main.rs")}


def test_explicit_paths(tmp_path: Path) -> None:
    extra = (
        'build = "tools/gen.rs"\n\n[lib]\nname = "core"\npath = "lib/core.rs"\n'
        '\n[[test]]\nname = "integration"\npath = "checks/all.rs"\n'
    )
    files = {
        "Cargo.toml": package("p", extra),
        "lib/core.rs": "",
        "tools/gen.rs": MAIN,
        "checks/all.rs": "",
    }
    root = write_tree(tmp_path, files)
    assert _targets(root) == {
        ("lib", "core", "lib/core.rs"),
        ("test", "integration", "checks/all.rs"),
        ("build-script", "build-script-build", "tools/gen.rs"),
    }


def test_edition_2015_legacy_bin_path(tmp_path: Path) -> None:
    extra = '\n[[bin]]\nname = "daemon"\n'
    root = write_tree(tmp_path, {"Cargo.toml": package("p", extra, "2015"), "src/daemon.rs": MAIN})
    assert _targets(root) == {("bin", "daemon", "src/daemon.rs")}


def test_fixture_targets_match_cargo_metadata() -> None:
    ws = load_workspace(FIXTURES / "root_package/Cargo.toml")
    app = next(member for member in ws.members if member.name == "app")
    assert [(t.kind, t.name) for t in app.targets] == [
        ("lib", "app"),
        ("bin", "app"),
        ("bin", "extra"),
        ("example", "demo"),
        ("example", "multi"),
        ("test", "smoke"),
        ("test", "suite"),
        ("bench", "speed"),
        ("build-script", "build-script-build"),
    ]
