"""A rescan takes an unchanged package's files from the scan cache's record of its discovery, and
discovers it again whenever anything that decided its files changed.

"Replayed" is checked by counting the files discovery reads, never by time.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest
from test_scan_support import scan_folder, seeded_copy
from ws_helpers import package, write_tree

from unsound.dsl.loader import load_rules
from unsound.engine import scan as scan_module
from unsound.engine import sources as sources_module
from unsound.engine.cache import ScanCache
from unsound.engine.cache_identity import hmac_key
from unsound.engine.discovery_record import DiscoveryRecord, DiscoveryRecorder, RecordedFile
from unsound.engine.hashing import file_stamp
from unsound.engine.scan import workspace_crate_names
from unsound.engine.sources import collect_sources
from unsound.engine.workspace import load_workspace, select_packages
from unsound.report.json_report import render_json

pytestmark = pytest.mark.usefixtures("private_key_folder")

SLAB_LIB = "crates/slab-arena/src/lib.rs"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Real paths of the files discovery (or a lazy `SourceFile`) reads from now on."""
    seen: list[str] = []
    real = sources_module._read_with_stat

    def counting(path: str) -> tuple[bytes, os.stat_result]:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(sources_module, "_read_with_stat", counting)
    return seen


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded copy scanned once, every package's discovery recorded (its files were written
    a moment ago: the racy window is made to lie long past)."""
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    return root


def _package_of(root: Path, real_path: str) -> str:
    return Path(real_path).relative_to(root.resolve()).parts[1]


def _cold(root: Path) -> str:
    return render_json(scan_folder(root))


@pytest.mark.parametrize("jobs", [0, 2])
def test_a_rescan_with_nothing_changed_reads_no_file(
    recorded: Path, reads: list[str], jobs: int
) -> None:
    cold = _cold(recorded)
    assert render_json(scan_folder(recorded, use_cache=True, jobs=jobs)) == cold
    reads.clear()
    assert render_json(scan_folder(recorded, use_cache=True, jobs=jobs)) == cold
    assert reads == []


def test_an_edited_package_alone_is_discovered_again(recorded: Path, reads: list[str]) -> None:
    lib = recorded / SLAB_LIB
    lib.write_text(lib.read_text() + "\n// an edit\n")
    cold = _cold(recorded)
    reads.clear()
    assert render_json(scan_folder(recorded, use_cache=True)) == cold
    # Read by discovery: the edited package's files only; its other files are read for the
    # crate's rescan as well, by the same rule.
    assert reads and {_package_of(recorded, path) for path in reads} == {"slab-arena"}


def test_a_new_module_file_is_found(recorded: Path, reads: list[str]) -> None:
    """`mod extra;` where `extra.rs` was missing (a problem): the package was not recorded
    (a problem), and once the file exists it is read and scanned."""
    lib = recorded / SLAB_LIB
    lib.write_text(lib.read_text() + "\npub mod extra;\n")
    first = scan_folder(recorded, use_cache=True)
    assert any("has no file" in problem.message for problem in first.problems)
    (recorded / "crates/slab-arena/src/extra.rs").write_text(
        "pub fn first(v: &mut Vec<u8>) -> *mut u8 { v.as_mut_ptr() }\n"
    )
    cold = _cold(recorded)
    reads.clear()
    warm = scan_folder(recorded, use_cache=True)
    assert not warm.problems
    # The declaring `lib.rs` is scanned again (it was "not scanned" for its problem), and
    # `extra.rs` for the first time.
    assert warm.files_scanned == first.files_scanned + 2
    assert any(path.endswith("slab-arena/src/extra.rs") for path in reads)
    assert render_json(warm) == cold


def test_a_candidate_path_that_appears_is_followed(recorded: Path) -> None:
    """A `#[cfg_attr(…, path = "…")]` alternative that did not exist was recorded as absent:
    once it exists, the package is discovered again and reads it."""
    lib = recorded / SLAB_LIB
    lib.write_text(lib.read_text() + '\n#[cfg_attr(unix, path = "alt.rs")]\nmod other;\n')
    (recorded / "crates/slab-arena/src/other.rs").write_text("pub fn f() {}\n")
    scan_folder(recorded, use_cache=True)
    scan_folder(recorded, use_cache=True)  # replayed: `alt.rs` is still absent
    (recorded / "crates/slab-arena/src/alt.rs").write_text(
        "pub unsafe fn read_it(p: *const u8) -> u8 { *p }\n"
    )
    warm = scan_folder(recorded, use_cache=True)
    assert render_json(warm) == _cold(recorded)
    assert warm.files_scanned == scan_folder(recorded).files_scanned


def test_a_malformed_discovery_record_is_ignored(recorded: Path, reads: list[str]) -> None:
    (path,) = sorted((recorded / "target" / "cargo-unsound").glob("scan-*.bin"))
    document = marshal.loads(path.read_bytes().partition(b"\n")[2])
    broken: list[object] = ["x", [1, 2], [[], [["a"]], [], []], {"setting": 1}]
    for index, name in enumerate(sorted(document["discovery"])):
        document["discovery"][name] = broken[index % len(broken)]
    body = marshal.dumps(document)
    key = hmac_key()
    assert key is not None
    path.write_bytes(ScanCache(path, key)._mac(body).encode() + b"\n" + body)
    cold = _cold(recorded)
    reads.clear()
    assert render_json(scan_folder(recorded, use_cache=True)) == cold
    assert {_package_of(recorded, p) for p in reads} >= {"js-bridge", "slab-arena"}


def _record(tmp_path: Path) -> tuple[DiscoveryRecord, Path]:
    file = tmp_path / "lib.rs"
    file.write_text("mod a;\n")
    status = os.stat(file)
    recorded = RecordedFile(
        str(file), "lib.rs", str(file), file_stamp(status), status.st_dev, "0" * 32
    )
    recorder = DiscoveryRecorder(("root", "lib.rs"))
    recorder.files.append(recorded)
    recorder.absent.append(str(tmp_path / "a.rs"))
    recorder.read_before += [str(file), "/elsewhere/shared.rs"]
    record = recorder.record()
    assert record is not None
    return record, file


def test_a_record_holds_only_while_everything_it_read_is_as_it_was(tmp_path: Path) -> None:
    record, file = _record(tmp_path)
    # A file the package read twice is its own, not one an earlier package must have read.
    assert record.read_before == ("/elsewhere/shared.rs",)
    assert DiscoveryRecord.decode(record.encode()) == record
    seen = {"/elsewhere/shared.rs"}
    assert record.holds(("root", "lib.rs"), seen)
    assert not record.holds(("root", "main.rs"), seen)  # another crate root
    assert not record.holds(("root", "lib.rs"), set())  # the shared file is not read before
    assert not record.holds(("root", "lib.rs"), seen | {str(file)})  # read by another
    (tmp_path / "a.rs").write_text("")
    assert not record.holds(("root", "lib.rs"), seen)  # a missing module file appeared
    (tmp_path / "a.rs").unlink()
    assert record.holds(("root", "lib.rs"), seen)
    file.write_text("mod b;\n")  # same size, another content
    assert not record.holds(("root", "lib.rs"), seen)


def test_a_recorder_that_met_a_problem_records_nothing() -> None:
    recorder = DiscoveryRecorder(("root",))
    recorder.clean = False
    assert recorder.record() is None


@pytest.mark.parametrize(
    "value",
    [None, "x", [], [["a"], [], [], [1]], [["a"], [["p", "r", "q", 1, 2, 3, 4, 5]], [], []]],
)
def test_a_record_that_does_not_decode_is_none(value: object) -> None:
    assert DiscoveryRecord.decode(value) is None


def test_a_record_writes_derivable_paths_once(tmp_path: Path) -> None:
    """A file at root + relative path, not a link, is written by its relative path alone."""
    record, file = _record(tmp_path)
    plain = DiscoveryRecord(("root", str(tmp_path)), record.files, (), ())
    encoded = plain.encode()
    assert encoded[1] == [
        [None, "lib.rs", None, *record.files[0].stamp, record.files[0].device, "0" * 32]
    ]  # type: ignore[index]
    assert DiscoveryRecord.decode(encoded) == plain
    linked = RecordedFile(str(file), "lib.rs", "/real/lib.rs", (1, 2, 3, 4), 5, "0" * 32)
    elsewhere = DiscoveryRecord(("root", "/other"), (linked,), (), ())
    assert DiscoveryRecord.decode(elsewhere.encode()) == elsewhere


@pytest.mark.parametrize("jobs", [0, 2])
def test_a_replayed_file_that_cannot_be_read_for_its_crates_scan_is_reported(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A file replayed unread whose crate must be scanned again, removed in between: reported
    "not scanned" like a file discovery cannot read, and the scan goes on."""
    # A file with findings, whose outcome is to be redone: read as empty, it finds nothing.
    replayed_unread = recorded / "crates/slab-arena/src/handle.rs"

    gone = [True]

    def vanished(self: sources_module.UnreadFile) -> bytes:
        if gone[0] and self.real_path == str(replayed_unread.resolve()):
            raise FileNotFoundError(2, "No such file or directory")
        return sources_module._read_with_stat(self.real_path)[0]

    # The crate's replay holds; the file's cached outcome does not (its entry is forgotten),
    # so the crate's files are read for a task.
    (path,) = sorted((recorded / "target" / "cargo-unsound").glob("scan-*.bin"))
    document = marshal.loads(path.read_bytes().partition(b"\n")[2])
    handle = "crates/slab-arena/src/handle.rs"
    document["entries"] = {k: v for k, v in document["entries"].items() if not k.endswith(handle)}
    body = marshal.dumps(document)
    key = hmac_key()
    assert key is not None
    path.write_bytes(ScanCache(path, key)._mac(body).encode() + b"\n" + body)
    monkeypatch.setattr(sources_module.UnreadFile, "read", vanished)
    report = scan_folder(recorded, use_cache=True, jobs=jobs)
    shown = replayed_unread.relative_to(recorded).as_posix()
    assert [(p.path, p.message) for p in report.problems] == [
        (shown, f"`{shown}` could not be read: No such file or directory")
    ]
    assert not report.complete
    # Nothing of that crate was cached from the scan that read the file as empty: readable
    # again (and unchanged), the next rescan gives the cold report.
    gone[0] = False
    warm = scan_folder(recorded, use_cache=True, jobs=jobs)
    assert render_json(warm) == _cold(recorded)


SHARED = {
    "Cargo.toml": '[workspace]\nmembers = ["aaa", "zzz"]\nresolver = "2"\n',
    "aaa/Cargo.toml": package("aaa", 'build = "build.rs"\n'),
    "aaa/src/lib.rs": "",
    # The build script reuses zzz's module; as a `#[path]` file its `mod`s sit beside it.
    "aaa/build.rs": '#[path = "../zzz/src/config.rs"]\nmod config;\n\nfn main() {}\n',
    "zzz/Cargo.toml": package("zzz"),
    "zzz/src/lib.rs": "pub mod config;\n",
    "zzz/src/config.rs": "pub const DEFAULT: u32 = 1;\n\n#[cfg(test)]\nmod tests;\n",
    "zzz/src/config/tests.rs": "",
}


def test_a_file_two_packages_reach_loads_the_modules_each_sees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rustc compiles `config.rs` in both crates, each with its own folder for `mod tests;`:
    the file is read once (with the package that reaches it first), its modules in each; also
    when the first package is replayed from its record and the file is not read at all."""
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = write_tree(tmp_path / "ws", SHARED)
    workspace = load_workspace(root / "Cargo.toml")
    packages = select_packages(workspace, packages=[], workspace=True, exclude=[])
    sources, problems = collect_sources(packages, workspace.root, all_files=False)
    assert {source.rel_path: source.crate for source in sources} == {
        "aaa/build.rs": "aaa",
        "aaa/src/lib.rs": "aaa",
        "zzz/src/config.rs": "aaa",
        "zzz/src/config/tests.rs": "zzz",
        "zzz/src/lib.rs": "zzz",
    }
    assert problems == ()
    # A rescan replays what it can (`aaa`) and still follows the shared file's modules.
    assert scan_folder(root, use_cache=True).files_scanned == 5
    assert scan_folder(root, use_cache=True).files_scanned == 5
    (root / "zzz/src/config.rs").write_text(
        SHARED["zzz/src/config.rs"] + "#[cfg(test)]\nmod extra;\n"
    )
    (root / "zzz/src/config/extra.rs").write_text("")
    assert scan_folder(root, use_cache=True).files_scanned == 6
    assert scan_folder(root).files_scanned == 6


@pytest.fixture
def followed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the packages discovery follows (reads from their crate roots) from now on."""
    names: list[str] = []
    real = sources_module._Collector.follow

    def counting(self: sources_module._Collector, package: object, target: object) -> None:
        names.append(package.name)  # type: ignore[attr-defined]
        real(self, package, target)  # type: ignore[arg-type]

    monkeypatch.setattr(sources_module._Collector, "follow", counting)
    return names


def test_an_edit_that_keeps_the_declarations_replays_the_package(
    recorded: Path, followed: list[str], reads: list[str]
) -> None:
    """The edited file is read and found to declare what it declared: the package's record
    holds with the file's new hash, the report is the cold one, and the next rescan replays it
    reading nothing (the file's new stat was kept, not the stale one)."""
    lib = recorded / SLAB_LIB
    lib.write_text(lib.read_text() + "\npub unsafe fn deref(p: *const u8) -> u8 { *p }\n")
    cold = _cold(recorded)
    followed.clear()
    assert render_json(scan_folder(recorded, use_cache=True)) == cold
    assert followed == []
    reads.clear()
    assert render_json(scan_folder(recorded, use_cache=True)) == cold
    assert followed == [] and reads == []
    assert _touched(recorded) == {}  # the edited file's new stat is the recorded one


def _touched(root: Path) -> dict[str, int] | None:
    """The crates the scan cache of `root` says have changed files (what plans a rescan)."""
    workspace = load_workspace(root / "Cargo.toml")
    packages = select_packages(workspace, packages=[], workspace=True, exclude=[])
    lints = {package.name: package.lints for package in packages}
    cache = ScanCache.open(workspace.root, load_rules(), workspace_crate_names(workspace), lints)
    return scan_module._touched_crates(packages, workspace, cache)


def test_an_edit_that_changes_the_declarations_follows_the_package(
    recorded: Path, followed: list[str]
) -> None:
    lib = recorded / SLAB_LIB
    lib.write_text(lib.read_text() + "\npub mod extra;\n")
    (recorded / "crates/slab-arena/src/extra.rs").write_text(
        "pub unsafe fn deref(p: *const u8) -> u8 { *p }\n"
    )
    cold = _cold(recorded)
    followed.clear()
    warm = scan_folder(recorded, use_cache=True)
    assert followed and set(followed) == {"slab-arena"}
    assert render_json(warm) == cold and warm.files_scanned == scan_folder(recorded).files_scanned


def test_a_racily_clean_file_is_recorded_for_its_content_to_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, followed: list[str], reads: list[str]
) -> None:
    """Every file of a fresh copy changed just now: the records hold them as `UNTRUSTED`, and
    the rescan reads them to compare their content instead of following the packages."""
    root = seeded_copy(tmp_path)
    monkeypatch.setattr(sources_module, "RACY_NS", 10**15)  # every file is racily clean
    cold = _cold(root)
    scan_folder(root, use_cache=True)
    followed.clear()
    reads.clear()
    assert render_json(scan_folder(root, use_cache=True)) == cold
    assert followed == [] and reads  # checked by content, not followed


def _trusted_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    """A workspace written from `files`, whose stats discovery trusts at once (the racy
    window is made to lie long past, as for `recorded`)."""
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    return write_tree(tmp_path / "ws", files)


def test_a_package_with_a_module_declaring_macro_is_followed_after_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, followed: list[str]
) -> None:
    """A call added in a file's text loads a module, though the file's own `mod` declarations
    are unchanged: such a package is followed again after any edit. (The crate is the shape
    `cargo check` accepted in `test_macro_declared_modules`: `prelude!()` declares `mod
    types;`.)"""
    root = _trusted_tree(
        tmp_path,
        monkeypatch,
        {
            "Cargo.toml": package("mm"),
            "src/lib.rs": "#[macro_use]\nmod macros;\n\npub mod sub;\n",
            "src/macros.rs": "macro_rules! prelude {\n    () => {\n        mod types;\n    };\n}\n",
            "src/sub.rs": "pub fn f() {}\n",
            "src/sub/types.rs": "pub fn head(v: &[u8]) -> u8 {\n    unsafe { *v.as_ptr() }\n}\n",
        },
    )
    scan_folder(root, use_cache=True)
    (root / "src/sub.rs").write_text("prelude!();\npub fn f() {}\n")
    followed.clear()
    warm = scan_folder(root, use_cache=True)
    assert followed == ["mm"]
    assert render_json(warm) == _cold(root)
    assert warm.files_scanned == 4  # `src/sub/types.rs` is now a module


def test_a_module_link_retargeted_to_another_file_is_followed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, followed: list[str]
) -> None:
    """`src/m.rs` is a link: pointed at another file, its stat changes while the file it named
    before did not; the record must not be replayed with the old file's content. (The crate,
    with the link to `b.rs`, passes `cargo check`.)"""
    root = _trusted_tree(
        tmp_path,
        monkeypatch,
        {
            "Cargo.toml": package("ln"),
            "src/lib.rs": "mod m;\n",
            "shared/a.rs": "pub fn a() {}\n",
            "shared/b.rs": "pub fn b(p: *const u8) -> &'static u8 {\n    unsafe { &*p }\n}\n",
        },
    )
    (root / "src/m.rs").symlink_to(root / "shared/a.rs")
    scan_folder(root, use_cache=True)
    (root / "src/m.rs").unlink()
    (root / "src/m.rs").symlink_to(root / "shared/b.rs")
    followed.clear()
    warm = scan_folder(root, use_cache=True)
    assert followed == ["ln"]
    assert render_json(warm) == _cold(root)
    # `b` dereferences its pointer parameter in an undocumented `unsafe` block: found in
    # `src/m.rs`, the link's new file (every rule runs here, those off by default too).
    assert [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in warm.findings
    ] == [
        ("not-unsafe-ptr-arg-deref", "src/m.rs", 1, 10),
        ("undocumented-unsafe", "src/m.rs", 2, 5),
    ]
