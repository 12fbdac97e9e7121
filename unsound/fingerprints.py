"""Fingerprints that let code-scanning services recognise the same finding across scans.

Two kinds, both stored in `Finding.fingerprints` (SARIF `partialFingerprints`):

- `primaryLocationLineHash`: GitHub's own line hash, as `github/codeql-action` computes it in
  `src/fingerprints.ts` when a SARIF file arrives without one. We compute it ourselves so an upload
  that skips the action (the `upload` subcommand, other platforms) still matches alerts across
  commits, and it must be bit-for-bit the same value or GitHub sees every alert as new.
- `cargoUnsound/v1`: our own, from the rule, the enclosing item and the matched code with its
  whitespace removed, so it survives moving the code within a file or reformatting it, which the
  line hash does not.

Both are pure functions of their inputs; the engine calls them while it builds findings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import overload

LINE_HASH_KEY = "primaryLocationLineHash"
STABLE_KEY = "cargoUnsound/v1"

# The constants of codeql-action's rolling hash. Changing any of them changes every hash.
_BLOCK_SIZE = 100
_BASE = 37
_MASK = (1 << 64) - 1  # the JS code uses signed 64-bit `Long`s and prints them unsigned
_END_OF_FILE_UNIT = b"\xff\xff"  # JS adds -1 as a UTF-16 unit: 65535
_LF = 0x0A


def line_hashes(text: str) -> list[str]:
    """The `primaryLocationLineHash` of every line of `text`; index 0 is line 1.

    Hashing is linear in the file's length, so compute this once per file and index it per
    finding. `text` should be decoded the way Node reads the file (UTF-8, invalid bytes as
    U+FFFD, a BOM kept): `data.decode("utf-8", errors="replace")`.

    Like codeql-action, a file that ends in a newline has one more (empty) line after it.
    """
    return list(_line_hashes_cached(text))


def primary_location_line_hash(text: str, line: int) -> str:
    """The `primaryLocationLineHash` of one 1-based `line` of `text`.

    Raises `ValueError` for a line the text does not have: a fingerprint for a line that is not
    there would silently match nothing.
    """
    hashes = _line_hashes_cached(text)
    if not 1 <= line <= len(hashes):
        raise ValueError(f"line {line} is outside the text's {len(hashes)} lines")
    return hashes[line - 1]


def stable_fingerprint(rule_id: str, item_path: str, matched_text: str) -> str:
    """A fingerprint that survives moving and reformatting code: 32 hex digits of SHA-256.

    The matched text loses all its whitespace first, so rustfmt moving a line break or a space
    does not change the value; the rule id and the item path (`LowerContext::new`) keep equal
    snippets in different places apart. NUL separators stop `("a", "bc")` meeting `("ab", "c")`.
    """
    normalized = "".join(matched_text.split())
    payload = "\0".join((rule_id, item_path, normalized)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()[:32]


def fingerprints_for(
    hashes: Sequence[str], line: int, rule_id: str, item_path: str, matched_text: str
) -> dict[str, str]:
    """Both fingerprints of a finding, keyed by their SARIF `partialFingerprints` names."""
    if not 1 <= line <= len(hashes):
        raise ValueError(f"line {line} is outside the text's {len(hashes)} lines")
    return {
        LINE_HASH_KEY: hashes[line - 1],
        STABLE_KEY: stable_fingerprint(rule_id, item_path, matched_text),
    }


@lru_cache(maxsize=4)
def _line_hashes_cached(text: str) -> LineHashes:
    """Cached so that calling `primary_location_line_hash` per finding stays linear per file."""
    return LineHashes(text)


class LineHashes(Sequence[str]):
    """The `primaryLocationLineHash` of every line of a text, each computed when first asked.

    codeql-action hashes the 100 UTF-16 units from each line start (a rolling hash over the
    whole file) and appends how many earlier lines had the same hash (`:2`). A report needs a
    few lines per file, not all of them: rolling over every unit of a big generated file in
    Python cost 0.6 s of a wasmtime scan. So the occurrence count compares the windows
    themselves (a bytes slice each, counted in a dict), and only the lines asked for are hashed.
    The two counts agree unless two different windows of one file collide in the 64-bit hash.
    """

    def __init__(self, text: str) -> None:
        # codeql-action reads characters with `charCodeAt` (so a character outside the BMP is
        # two units), turns CR LF and a lone CR into LF, and skips spaces and tabs. A space
        # between a CR and an LF makes them two line breaks there, and the replacement order
        # below does the same: an LF is dropped only when the character before it is a CR.
        # `str.replace` scans in C; `str.translate` with a deleting table looks up every
        # character (0.08 s for the 41 files with findings of three workspaces).
        normalized = (
            text.replace("\r\n", "\n").replace("\r", "\n").replace(" ", "").replace("\t", "")
        )
        units = normalized.encode("utf-16-le", "surrogatepass") + _END_OF_FILE_UNIT
        self._units = units + bytes(2 * _BLOCK_SIZE)  # windows past the end read zeros
        self._starts = _line_starts(normalized, units)
        seen: dict[bytes, int] = {}
        self._occurrence = []
        for start in self._starts:
            window = self._units[2 * start : 2 * (start + _BLOCK_SIZE)]
            seen[window] = seen.get(window, 0) + 1
            self._occurrence.append(seen[window])
        self._hashes: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        found = self._hashes.get(index)
        if found is None:
            start = self._starts[index]
            window = memoryview(self._units)[2 * start : 2 * (start + _BLOCK_SIZE)].cast("H")
            value = 0
            for unit in window:  # sum(u * 37^(99-k)) mod 2^64, by Horner's rule
                value = (value * _BASE + unit) & _MASK
            found = self._hashes[index] = f"{value:x}:{self._occurrence[index]}"
        return found


def _line_starts(normalized: str, units: bytes) -> list[int]:
    """Unit indexes where a line starts: the first unit and each unit after an LF."""
    if len(units) == 2 * (len(normalized) + 1):
        # No character outside the BMP: a character is one unit, and `str.find` can look.
        starts = [0]
        found = normalized.find("\n")
        while found != -1:
            starts.append(found + 1)
            found = normalized.find("\n", found + 1)
        return starts
    return [0, *(i + 1 for i, unit in enumerate(memoryview(units).cast("H")) if unit == _LF)]
