"""Regex sources that start with a literal word, so Python's `re` scans for it.

`re` finds a regex that starts with a plain literal with a fast scan; one that starts with `\\b`
is tried at every position of the text, 7-25x slower on wasmtime's files. The form here puts
the word first and lets a lookbehind play the leading `\\b`: `word(?<![\\w]word)rest` matches
exactly where `\\bword rest` does. The prefilter's needles, the crate index's selectors, the
crate gate's names and the module declarations all search this way.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def after_word(word: bytes, rest: bytes, not_after: bytes = b"") -> bytes:
    """`\\bword` then `rest` (a regex source), starting with the literal word. `not_after`:
    further characters that may not precede the word (`'` keeps `'static` out of `static`)."""
    escaped = re.escape(word)
    return escaped + rb"(?<![\w" + re.escape(not_after) + rb"]" + escaped + rb")" + rest


def whole_word(word: bytes) -> bytes:
    """`\\bword\\b`, starting with the literal word when the word is an identifier (for
    anything else the lookarounds would mean otherwise: the plain form is kept)."""
    if not _IDENTIFIER.fullmatch(word):
        return word_inside(word)
    return after_word(word, rb"(?!\w)")


def word_inside(word: bytes) -> bytes:
    """`\\bword\\b` for the middle of a longer regex, where `re` does not scan for it first."""
    return rb"\b" + re.escape(word) + rb"\b"
