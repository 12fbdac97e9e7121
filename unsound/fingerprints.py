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

LINE_HASH_KEY = "primaryLocationLineHash"
STABLE_KEY = "cargoUnsound/v1"

# The constants of codeql-action's rolling hash. Changing any of them changes every hash.
_BLOCK_SIZE = 100
_BASE = 37
_MASK = (1 << 64) - 1  # the JS code uses signed 64-bit `Long`s and prints them unsigned
_FIRST_MOD = pow(_BASE, _BLOCK_SIZE, 1 << 64)
_END_OF_FILE = 0xFFFF  # JS adds -1 as a UTF-16 unit: 65535
_LF = 0x0A
_SKIPPED = str.maketrans("", "", " \t")


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
def _line_hashes_cached(text: str) -> tuple[str, ...]:
    """Cached so that calling `primary_location_line_hash` per finding stays linear per file."""
    units = _code_units(text)
    starts = _line_starts(units)
    window_hashes = _window_hashes(units, starts)
    counts: dict[str, int] = {}
    out = []
    for window_hash in window_hashes:
        value = format(window_hash, "x")
        counts[value] = counts.get(value, 0) + 1
        out.append(f"{value}:{counts[value]}")
    return tuple(out)


def _code_units(text: str) -> list[int]:
    """The UTF-16 code units the hash reads, with the end-of-file sentinel appended.

    codeql-action reads characters with `charCodeAt` (so a character outside the BMP is two
    units), turns CR LF and a lone CR into LF, and skips spaces and tabs. A space between a CR and
    an LF makes them two line breaks there, and the replacement order below does the same: an LF is
    dropped only when the character right before it is a CR.
    """
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").translate(_SKIPPED)
    raw = normalized.encode("utf-16-le", "surrogatepass")
    units = list(memoryview(raw).cast("H")) if raw else []
    units.append(_END_OF_FILE)
    return units


def _line_starts(units: list[int]) -> list[int]:
    """Indexes where a line starts: the first unit and each unit after an LF."""
    return [0, *(i + 1 for i, unit in enumerate(units) if unit == _LF)]


def _window_hashes(units: list[int], starts: list[int]) -> list[int]:
    """For each index i of `starts`, the hash of units[i:i+100] (zero-padded), as
    sum(u * 37^(99-k)) mod 2^64.

    One rolling pass over the units, then the padding: the same values the JS window produces.
    """
    padded = units + [0] * _BLOCK_SIZE
    value = 0
    ends: list[int] = []  # ends[j] = hash of the window ending at index j
    for j, unit in enumerate(padded):
        leaving = padded[j - _BLOCK_SIZE] if j >= _BLOCK_SIZE else 0
        value = (value * _BASE + unit - leaving * _FIRST_MOD) & _MASK
        ends.append(value)
    return [ends[i + _BLOCK_SIZE - 1] for i in starts]
