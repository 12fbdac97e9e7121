"""`workspace.members` globs follow the Rust glob crate, which Cargo uses (not Python's glob)."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound.engine.member_globs import GlobError, expand, is_glob


def _tree(root: Path, *folders: str) -> Path:
    for folder in folders:
        (root / folder).mkdir(parents=True)
    return root


def _names(root: Path, pattern: str) -> list[str]:
    return [path.relative_to(root).as_posix() for path in expand(root, pattern)]


def test_star_matches_hidden_folders_and_files(tmp_path: Path) -> None:
    root = _tree(tmp_path, "crates/a", "crates/b", "crates/.hid")
    (root / "crates/notes.txt").write_text("")
    assert _names(root, "crates/*") == ["crates/.hid", "crates/a", "crates/b", "crates/notes.txt"]


def test_question_mark_and_classes(tmp_path: Path) -> None:
    root = _tree(tmp_path, "c/a1", "c/a2", "c/b1", "c/ab")
    assert _names(root, "c/a?") == ["c/a1", "c/a2", "c/ab"]
    assert _names(root, "c/[ab]1") == ["c/a1", "c/b1"]
    assert _names(root, "c/[!a]1") == ["c/b1"]
    assert _names(root, "c/a[0-9]") == ["c/a1", "c/a2"]


def test_brackets_match_a_metacharacter_literally(tmp_path: Path) -> None:
    root = _tree(tmp_path, "c/*", "c/x")
    assert _names(root, "c/[*]") == ["c/*"]


def test_double_star_is_this_folder_and_every_folder_below(tmp_path: Path) -> None:
    root = _tree(tmp_path, "a/b/c", "a/d")
    assert _names(root, "a/**") == ["a", "a/b", "a/b/c", "a/d"]
    assert _names(root, "a/**/c") == ["a/b/c"]


def test_literal_paths_must_exist(tmp_path: Path) -> None:
    root = _tree(tmp_path, "a")
    assert _names(root, "a") == ["a"]
    assert _names(root, "missing") == []
    assert _names(root, "missing/*") == []


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a**", "recursive wildcards must form a single path component"),
        ("a/[bc", "invalid range pattern"),
    ],
)
def test_invalid_patterns(tmp_path: Path, pattern: str, message: str) -> None:
    with pytest.raises(GlobError, match=message):
        expand(tmp_path, pattern)


def test_is_glob() -> None:
    assert is_glob("crates/*")
    assert is_glob("c/[ab]")
    assert not is_glob("crates/alpha")
