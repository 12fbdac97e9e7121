"""The scan cache: same report as a cold scan, invalidated by what matters, and untrusted.

"Not parsed" is checked by counting calls to the parser in the in-process scan, never by time.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest
from test_scan_support import (
    count_parses,
    crate_names,
    scan_folder,
    seeded_copy,
)

from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.engine import cache as cache_module
from unsound.engine import crate_scan
from unsound.engine import sources as sources_module
from unsound.engine.cache import ScanCache
from unsound.engine.cache_identity import hmac_key
from unsound.report.json_report import render_json

pytestmark = pytest.mark.usefixtures("private_key_folder")

VALUE_RS = "crates/js-bridge/src/convert/value.rs"
EXTERNAL_RS = "crates/js-bridge/src/external.rs"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the files the (in-process) scan parses."""
    return count_parses(monkeypatch, crate_scan)


@pytest.fixture
def discovery_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the files source discovery parses to find their `mod` declarations."""
    return count_parses(monkeypatch, sources_module)


def cache_files(root: Path) -> list[Path]:
    return sorted((root / "target" / "cargo-unsound").glob("scan-*.bin"))


def test_warm_scan_gives_the_cold_report_and_parses_nothing(
    tmp_path: Path, parses: list[int]
) -> None:
    root = seeded_copy(tmp_path)
    cold = render_json(scan_folder(root, use_cache=True))
    assert parses and len(cache_files(root)) == 1
    parses.clear()
    warm = render_json(scan_folder(root, use_cache=True))
    assert warm == cold
    assert parses == []
    assert render_json(scan_folder(root, use_cache=True, jobs=2)) == cold


def test_a_rescan_finds_modules_without_parsing_unchanged_files(
    tmp_path: Path, discovery_parses: list[int]
) -> None:
    root = seeded_copy(tmp_path)
    cold = scan_folder(root, use_cache=True)
    assert discovery_parses  # lib.rs files declare `mod x;`: parsed once
    discovery_parses.clear()
    assert render_json(scan_folder(root, use_cache=True)) == render_json(cold)
    assert discovery_parses == []


def test_a_changed_module_list_is_followed(tmp_path: Path, discovery_parses: list[int]) -> None:
    root = seeded_copy(tmp_path)
    before = scan_folder(root, use_cache=True)
    lib = root / "crates/slab-arena/src/lib.rs"
    lib.write_text(lib.read_text() + "\npub mod extra;\n")
    (root / "crates/slab-arena/src/extra.rs").write_text(
        "pub struct Extra<'a> { p: &'a u8 }\n"
        "impl<'a> Extra<'a> {\n"
        "    pub fn new(p: *const u8) -> Extra<'a> { Extra { p: unsafe { &*p } } }\n"
        "}\n"
    )
    discovery_parses.clear()
    after = scan_folder(root, use_cache=True)
    assert discovery_parses == [len(lib.read_bytes())]  # only the changed file
    assert after.files_scanned == before.files_scanned + 1
    new = [f for f in after.findings if f.primary.path == "crates/slab-arena/src/extra.rs"]
    assert [(f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in new] == [
        ("not-unsafe-ptr-arg-deref", 3, 16),
        ("raw-pointer-escapes-lifetime", 3, 16),
        ("undocumented-unsafe", 3, 56),
    ]


def test_a_malformed_declaration_entry_is_ignored(
    tmp_path: Path, discovery_parses: list[int]
) -> None:
    root = seeded_copy(tmp_path)
    rules = load_rules()
    cold = render_json(scan_folder(root, use_cache=True, rules=rules))
    cold_parses = len(discovery_parses)
    cache = ScanCache.open(root, rules, crate_names(root))
    assert cache is not None and cache.modules
    cache.modules_used = {key: {"mods": 3} for key in cache.modules}
    cache.dirty = True
    cache.save()  # authentic (signed with the right key) but malformed
    discovery_parses.clear()
    assert render_json(scan_folder(root, use_cache=True, rules=rules)) == cold
    assert len(discovery_parses) == cold_parses  # each parsed again


def test_a_changed_file_is_rescanned(tmp_path: Path, parses: list[int]) -> None:
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    handle = root / "crates/slab-arena/src/handle.rs"
    handle.write_text(handle.read_text() + "\n// touched\n")
    parses.clear()
    report = scan_folder(root, use_cache=True)
    assert len(report.findings) == 9
    assert len(handle.read_bytes()) in parses
    assert render_json(report) == render_json(scan_folder(root))


def test_a_crate_level_fact_in_another_file_invalidates_the_dependent_file(
    tmp_path: Path,
) -> None:
    """`value.rs` is reported because of the pointer field of the struct in `external.rs`."""
    root = seeded_copy(tmp_path)
    before = scan_folder(root, use_cache=True)
    assert VALUE_RS in {f.primary.path for f in before.findings}
    external = root / EXTERNAL_RS
    text = external.read_text()
    assert "*mut" in text
    external.write_text(text.replace("*mut", "&'static mut"))
    after = scan_folder(root, use_cache=True)
    assert VALUE_RS not in {f.primary.path for f in after.findings}
    assert render_json(after) == render_json(scan_folder(root))


def test_a_rule_change_starts_a_new_cache(tmp_path: Path, parses: list[int]) -> None:
    root = seeded_copy(tmp_path)
    rules = load_rules()
    scan_folder(root, use_cache=True, rules=rules)
    parses.clear()
    one_rule = [r for r in rules if r.id == "raw-pointer-escapes-lifetime"]
    report = scan_folder(root, use_cache=True, rules=one_rule)
    assert parses, "a different rule set must not reuse the other's outcomes"
    assert {f.rule_id for f in report.findings} == {"raw-pointer-escapes-lifetime"}
    assert len(cache_files(root)) == 2


def test_a_rule_text_change_invalidates(tmp_path: Path) -> None:
    from unsound.dsl.loader import builtin_rule_files

    files = builtin_rule_files()
    edited = [(p, d, t.replace("severity error", "severity note", 1)) for p, d, t in files]
    assert edited != files
    before = ScanCache.open(tmp_path, compile_rule_files(files))
    after = ScanCache.open(tmp_path, compile_rule_files(edited))
    assert before is not None and after is not None
    assert before.path != after.path


def test_a_rules_fingerprint_is_worked_out_at_compilation_and_kept_in_its_pickle() -> None:
    """The scan cache's key reads each rule's `fingerprint` (its metadata and tree): the
    compiling process works it out and the compiled-rules cache keeps it, so a rescan does not
    take the `repr` of every rule's tree again; worked out anew, it is the same."""
    import pickle

    from unsound.dsl.loader import builtin_rule_files

    rules = compile_rule_files(builtin_rule_files())
    assert all("fingerprint" in vars(rule) for rule in rules)
    fingerprints = [rule.fingerprint for rule in rules]
    assert len(set(fingerprints)) == len(rules)
    restored = pickle.loads(pickle.dumps(rules))
    assert [vars(rule)["fingerprint"] for rule in restored] == fingerprints
    for rule in restored:
        del vars(rule)["fingerprint"]
    assert [rule.fingerprint for rule in restored] == fingerprints


def test_a_tool_version_change_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_rules()
    before = ScanCache.open(tmp_path, rules)
    monkeypatch.setattr(cache_module, "__version__", "999.0.0")
    after = ScanCache.open(tmp_path, rules)
    assert before is not None and after is not None
    assert before.path != after.path


def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path: Path, parses: list[int]) -> None:
    root = seeded_copy(tmp_path)
    cold = render_json(scan_folder(root, use_cache=True))
    [path] = cache_files(root)
    path.write_bytes(path.read_bytes()[:-40])
    parses.clear()
    assert render_json(scan_folder(root, use_cache=True)) == cold
    assert parses, "a corrupt file must not be trusted"
    parses.clear()
    assert render_json(scan_folder(root, use_cache=True)) == cold
    assert parses == [], "the corrupt file was rewritten"


def test_a_planted_entry_saying_no_findings_is_rejected(tmp_path: Path) -> None:
    """A pull request can commit target/cargo-unsound/…: without the user's key it is ignored."""
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    [path] = cache_files(root)
    mac, _, body = path.read_bytes().partition(b"\n")
    document = marshal.loads(body)
    for entry in document["entries"].values():
        entry["outcome"] = None  # how the cache writes "nothing found"
    forged = marshal.dumps(document)
    path.write_bytes(mac + b"\n" + forged)
    assert len(scan_folder(root, use_cache=True).findings) == 9


def test_an_entry_that_does_not_decode_is_ignored(tmp_path: Path) -> None:
    root = seeded_copy(tmp_path)
    rules = load_rules()
    scan_folder(root, use_cache=True, rules=rules)
    cache = ScanCache.open(root, rules, crate_names(root))
    assert cache is not None
    for entry in cache.entries.values():
        entry["outcome"] = {"rel_path": 3}
    cache.dirty = True
    cache.save()  # authentic (signed with the right key) but malformed
    assert len(scan_folder(root, use_cache=True).findings) == 9


def test_cargo_target_dir_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = seeded_copy(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("CARGO_TARGET_DIR", str(elsewhere))
    scan_folder(root, use_cache=True)
    assert list((elsewhere / "cargo-unsound").glob("scan-*.bin"))
    assert not (root / "target").exists()


def test_a_symlinked_target_in_the_tree_is_not_followed(tmp_path: Path) -> None:
    root = seeded_copy(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "target").symlink_to(outside, target_is_directory=True)
    assert len(scan_folder(root, use_cache=True).findings) == 9
    assert list(outside.iterdir()) == []


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=False)
    assert not (root / "target").exists()


def test_the_key_lives_in_the_users_cache_folder_and_is_private(private_key_folder: Path) -> None:
    key = hmac_key()
    path = private_key_folder / "cargo-unsound" / "key"
    assert key is not None and path.read_bytes() == key
    assert os.stat(path).st_mode & 0o077 == 0
    assert hmac_key() == key


def test_old_cache_files_are_pruned(tmp_path: Path) -> None:
    root = seeded_copy(tmp_path)
    folder = root / "target" / "cargo-unsound"
    folder.mkdir(parents=True)
    for n in range(12):
        stale = folder / f"scan-{n:032x}.json"
        stale.write_text("old")
        os.utime(stale, (1000 + n, 1000 + n))
    (folder / "keep-me.txt").write_text("not ours")
    scan_folder(root, use_cache=True)
    names = sorted(p.name for p in folder.iterdir())
    assert "keep-me.txt" in names
    assert len([n for n in names if n.startswith("scan-")]) == 8
    assert f"scan-{0:032x}.json" not in names


# A rescan takes a file's content hash from the cache when the file's stat is what it was when
# the cache recorded it (size, mtime, ctime, inode), as git's index does; a file changed too
# shortly before a scan ("racily clean") is never recorded, so a later change within the same
# timestamp cannot go unseen.

HANDLE_RS = "crates/slab-arena/src/handle.rs"


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the files discovery hashes."""
    seen: list[int] = []
    real = sources_module.content_hash

    def counting(data: bytes) -> str:
        seen.append(len(data))
        return real(data)

    monkeypatch.setattr(sources_module, "content_hash", counting)
    return seen


def cache_document(root: Path) -> dict[str, object]:
    (path,) = cache_files(root)
    document: dict[str, object] = marshal.loads(path.read_bytes().partition(b"\n")[2])
    return document


def recorded_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]) -> Path:
    """A seeded copy scanned once with every file's hash recorded under its stat (its files
    were written a moment ago: the racy window is made to lie long past)."""
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    assert len(hashed) > 5 and len(cache_document(root)["stats"]) == len(hashed)  # type: ignore[arg-type]
    return root


def test_a_rescan_hashes_only_the_files_whose_stat_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]
) -> None:
    root = recorded_copy(tmp_path, monkeypatch, hashed)
    hashed.clear()
    assert len(scan_folder(root, use_cache=True).findings) == 9
    assert hashed == []
    # An edit that keeps the size (and, written this quickly, maybe the mtime too) changes
    # the ctime: that file alone is hashed again, and the report is a cold scan's.
    handle = root / HANDLE_RS
    text = handle.read_text()
    edited = text.replace("pos", "qos")  # a parameter a finding points at, renamed
    assert len(edited) == len(text) and edited != text
    handle.write_text(edited)
    hashed.clear()
    warm = render_json(scan_folder(root, use_cache=True))
    assert hashed == [len(edited.encode())]
    assert warm == render_json(scan_folder(root))
    assert "qos" in warm


def test_a_file_changed_just_before_the_scan_is_not_recorded(
    tmp_path: Path, hashed: list[int]
) -> None:
    root = seeded_copy(tmp_path)  # every file changed now, inside the racy window
    scan_folder(root, use_cache=True)
    files = len(hashed)
    assert cache_document(root)["stats"] == {}
    hashed.clear()
    scan_folder(root, use_cache=True)
    assert len(hashed) == files


def test_a_malformed_stat_record_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]
) -> None:
    root = recorded_copy(tmp_path, monkeypatch, hashed)
    files = len(hashed)
    (path,) = cache_files(root)
    document = cache_document(root)
    stats = document["stats"]
    assert isinstance(stats, dict)
    broken = ["x", [1, 2], [0, 0, 0, 0, "not a hash"], {"size": 1}]
    for index, key in enumerate(sorted(stats)):
        stats[key] = broken[index % len(broken)]
    document["discovery"] = {}  # else discovery replays the packages and reads no file
    body = marshal.dumps(document)
    key = hmac_key()
    assert key is not None
    cache = ScanCache(path, key)
    path.write_bytes(cache._mac(body).encode() + b"\n" + body)  # authentic, but malformed
    hashed.clear()
    assert len(scan_folder(root, use_cache=True).findings) == 9
    assert len(hashed) == files


def test_a_rescan_discovers_the_crates_with_changed_files_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]
) -> None:
    root = recorded_copy(tmp_path, monkeypatch, hashed)
    cache = ScanCache.open(root, load_rules(), crate_names(root))
    assert cache is not None and cache.crates_touched(root) == {}
    handle = root / HANDLE_RS
    handle.write_text(handle.read_text() + "// edited\n")
    # The bytes of the changed files, not of their crates: what a rescan will have to redo.
    assert cache.crates_touched(root) == {"slab-arena": handle.stat().st_size}

    # The crates go to the workers in that order, and the report is still a cold scan's.
    from unsound.engine import scan as scan_module

    orders: list[list[str]] = []
    real_sources = scan_module.CrateSources

    def recording(packages, *args, **kwargs):  # type: ignore[no-untyped-def]
        orders.append([package.name for package in packages])
        return real_sources(packages, *args, **kwargs)

    monkeypatch.setattr(scan_module, "CrateSources", recording)
    warm = render_json(scan_folder(root, jobs=2, use_cache=True))
    (order,) = orders
    assert order[0] == "slab-arena"  # last of the members in the workspace's own order
    assert sorted(order) == ["component-lower", "js-bridge", "napi-shim", "slab-arena"]
    assert warm == render_json(scan_folder(root))


def test_a_rescan_starts_only_the_workers_its_changes_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]
) -> None:
    """Workers take 50-150 ms of CPU to start, and closing the pool waits for all of them:
    nothing changed starts none, one small crate changed starts one, which builds only the
    queries its task needs."""
    from unsound.engine import parallel
    from unsound.engine import scan as scan_module

    root = recorded_copy(tmp_path, monkeypatch, hashed)
    cold = render_json(scan_folder(root))
    started: list[tuple[int, bool]] = []
    expected: list[tuple[str, ...]] = []
    real_pool = parallel.WorkerPool

    def counting(rules, workers, few_files=False, **options):  # type: ignore[no-untyped-def]
        started.append((workers, few_files))
        expected.append(options.get("expected", ()))
        return real_pool(rules, workers, few_files=few_files, **options)

    monkeypatch.setattr(parallel, "WorkerPool", counting)
    assert render_json(scan_folder(root, jobs=2, use_cache=True)) == cold
    assert started == []
    handle = root / HANDLE_RS
    handle.write_text(handle.read_text() + "// edited\n")
    assert render_json(scan_folder(root, jobs=2, use_cache=True)) == cold
    assert started == [(1, True)]
    # The worker is told which file changed: it builds that file's query before its task.
    assert expected[-1] == (os.path.realpath(handle),)
    # Without a cache to tell, or for a change big enough to be sliced, every job.
    assert scan_module._workers_needed(2, None) == 2
    assert scan_module._workers_needed(2, {"a": 10, "b": 10, "c": 10}) == 2
    assert scan_module._workers_needed(2, {"a": 3_000_000}) == 2
    assert scan_module._workers_needed(0, {"a": 10}) == 0
