"""A rescan takes a file's content hash from the cache when the file's stat is what it was
when the cache recorded it (size, mtime, ctime, inode), as git's index does; a file changed
too shortly before a scan ("racily clean") is never recorded, so a later change within the
same timestamp cannot go unseen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_scan_support import scan_folder, seeded_copy

from unsound.engine import cache as cache_module
from unsound.engine import sources as sources_module
from unsound.engine.cache import hmac_key
from unsound.report.json_report import render_json

HANDLE_RS = "crates/slab-arena/src/handle.rs"


@pytest.fixture(autouse=True)
def private_key_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    return folder


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
    (path,) = (root / "target" / "cargo-unsound").glob("scan-*.json")
    document: dict[str, object] = json.loads(path.read_bytes().partition(b"\n")[2])
    return document


def test_a_rescan_hashes_only_the_files_whose_stat_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashed: list[int]
) -> None:
    # The fixture's files were written a moment ago: pretend the racy window is long past.
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    files = len(hashed)
    assert files > 5 and len(cache_document(root)["stats"]) == files  # type: ignore[arg-type]
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
    monkeypatch.setattr(sources_module, "RACY_NS", -(10**15))
    root = seeded_copy(tmp_path)
    scan_folder(root, use_cache=True)
    files = len(hashed)
    (path,) = (root / "target" / "cargo-unsound").glob("scan-*.json")
    document = cache_document(root)
    stats = document["stats"]
    assert isinstance(stats, dict)
    broken = ["x", [1, 2], [0, 0, 0, 0, "not a hash"], {"size": 1}]
    for index, key in enumerate(sorted(stats)):
        stats[key] = broken[index % len(broken)]
    body = json.dumps(document, separators=(",", ":")).encode()
    key = hmac_key()
    assert key is not None
    cache = cache_module.ScanCache(path, key)
    path.write_bytes(cache._mac(body).encode() + b"\n" + body)  # authentic, but malformed
    hashed.clear()
    assert len(scan_folder(root, use_cache=True).findings) == 9
    assert len(hashed) == files
