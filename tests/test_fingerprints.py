"""Fingerprints: GitHub's line hash must equal codeql-action's bit for bit.

The expected values beyond the two documented vectors were computed with a port of
codeql-action's `src/fingerprints.ts` run under Node (`charCodeAt`, 64-bit arithmetic), so they pin
the JavaScript behaviour, not ours.
"""

from __future__ import annotations

import pytest

from unsound.fingerprints import (
    LINE_HASH_KEY,
    STABLE_KEY,
    fingerprints_for,
    line_hashes,
    primary_location_line_hash,
    stable_fingerprint,
)

EMPTY_FILE_HASH = "c129715d7a2bc9a3:1"


def test_empty_file_has_one_line() -> None:
    assert line_hashes("") == [EMPTY_FILE_HASH]
    assert primary_location_line_hash("", 1) == EMPTY_FILE_HASH


def test_codeql_action_vector_with_spaces_and_tabs() -> None:
    text = " a\nb\n  \t\tc\n d"
    expected = [
        "271789c17abda88f:1",
        "54703d4cd895b18:1",
        "180aee12dab6264:1",
        "a23a3dc5e078b07b:1",
    ]
    assert line_hashes(text) == expected
    assert [primary_location_line_hash(text, n) for n in range(1, 5)] == expected


def test_non_ascii_counts_utf16_code_units() -> None:
    # 'é' is one unit, '🦀' and '𝄞' are two (surrogate pairs), as JavaScript's charCodeAt sees them.
    text = 'let s = "héllo 🦀";\n\t// 𝄞 ok\r\nend'
    assert line_hashes(text) == ["2990b46c1002e04e:1", "17caf013ee99d06e:1", "43b6461eda086fe2:1"]


def test_astral_character_is_two_units_not_one() -> None:
    assert line_hashes("😀\n😀\n") == ["7125f7f4f5382e7d:1", "49e42825ed591e1a:1", EMPTY_FILE_HASH]
    # The units are what counts: the surrogate pair spelled out hashes the same.
    assert line_hashes("\ud83d\ude00")[0] == line_hashes("😀")[0]


def test_repeated_window_counts_occurrences() -> None:
    text = "x" * 120 + "\n" + "x" * 120 + "\n"
    assert line_hashes(text) == ["52b56201ffb58620:1", "52b56201ffb58620:2", EMPTY_FILE_HASH]


def test_line_endings_are_normalized() -> None:
    assert line_hashes("a\r\nb\r\n") == line_hashes("a\nb\n") == line_hashes("a\rb\r")
    # A space between CR and LF makes two line breaks, as in the JavaScript state machine.
    assert line_hashes("a\r \nd\n") == line_hashes("a\n\nd\n")
    assert line_hashes("a\r\nb\rc\r \nd\n") == [
        "e7119ac59887878b:1",
        "a58c02d81a12ccb4:1",
        "1278678578abeda0:1",
        "5ef4a45af6614457:1",
        "c13b9b1f9cee4e29:1",
        EMPTY_FILE_HASH,
    ]


def test_spaces_and_tabs_do_not_matter() -> None:
    assert line_hashes("fn  main ( ) {}\n") == line_hashes("\tfnmain(){}\n")


def test_trailing_newline_adds_an_empty_last_line() -> None:
    assert len(line_hashes("a")) == 1
    assert len(line_hashes("a\n")) == 2
    assert line_hashes("a\n")[-1] == EMPTY_FILE_HASH


def test_line_outside_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 3"):
        primary_location_line_hash("a\nb", 3)
    with pytest.raises(ValueError):
        primary_location_line_hash("a", 0)


def test_stable_fingerprint_ignores_whitespace_and_position() -> None:
    one = stable_fingerprint("rule-a", "Ctx::new", "fn new(x: *mut T) -> Self")
    assert len(one) == 32
    assert set(one) <= set("0123456789abcdef")
    assert one == stable_fingerprint("rule-a", "Ctx::new", "fn  new(x:\n\t*mut T)  ->  Self")
    assert one == stable_fingerprint("rule-a", "Ctx::new", "fn new(\n    x: *mut T\n) -> Self")


def test_stable_fingerprint_separates_its_parts() -> None:
    base = stable_fingerprint("rule-a", "Ctx::new", "x")
    assert base != stable_fingerprint("rule-b", "Ctx::new", "x")
    assert base != stable_fingerprint("rule-a", "Ctx::other", "x")
    assert base != stable_fingerprint("rule-a", "Ctx::new", "y")
    assert stable_fingerprint("a", "bc", "") != stable_fingerprint("ab", "c", "")


def test_fingerprints_for_names_both_keys() -> None:
    hashes = line_hashes("a\nb\n")
    fps = fingerprints_for(hashes, 2, "rule-a", "f", "b")
    assert fps == {LINE_HASH_KEY: hashes[1], STABLE_KEY: stable_fingerprint("rule-a", "f", "b")}
    assert LINE_HASH_KEY == "primaryLocationLineHash"
    assert STABLE_KEY == "cargoUnsound/v1"
    with pytest.raises(ValueError):
        fingerprints_for(hashes, 4, "rule-a", "f", "b")
