"""What a file's outcome read of the rest of its crate, so a rescan redoes only what a change can
alter.

Every crate-level answer (`implements`, `definitions`, the crate gate's names, …) is computed
from the files of the crate that a test of their text picks: the files that declare `struct
Foo`, the files with an `impl … for Foo`, the files that say `Foo` at all. A `Selector` is that
test, and the crate index picks the files it reads with the selectors themselves (or with a
table built by the same regex, `CrateIndex._files_declaring`), so a file no selector picks
cannot bear on the answer.

A file's outcome therefore stays right after another file `C` of the crate changes when `C`
was picked by none of the outcome's selectors before (it is not among the files read) and is
picked by none of them now. `CrateReads` records both halves: the selectors and the files they
picked. Anything read of the crate without a selector (a new index query, the whole crate at
once) is recorded as `whole_crate`, and such an outcome is redone whenever the crate changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from unsound.dsl.word_regex import whole_word


@cache
def _compiled(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode("latin-1"))


_IDENTIFIER_BYTES = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")

# Kinds of test. `search`: the regex occurs. `declares`: a match of the regex whose first group
# is `name` (`struct Foo`). `impl-header-names`: a match of the regex (an impl header) whose
# first group spells `name` as one of its identifiers. `impl-for-trait`: a match of the regex
# (`impl … for NAME`) whose text holds `name` (the trait's last segment) as a word.
SEARCH = "search"
DECLARES = "declares"
IMPL_HEADER_NAMES = "impl-header-names"
IMPL_FOR_TRAIT = "impl-for-trait"


@dataclass(frozen=True, order=True)
class Selector:
    """A test of a file's text: true for every file that can bear on one crate-level answer.

    `pattern` is a bytes regex's source decoded as Latin-1 (so it survives JSON in the cache).
    """

    kind: str
    pattern: str
    name: str = ""

    def matches(self, data: bytes) -> bool:
        regex = _compiled(self.pattern)
        if self.kind == SEARCH:
            return regex.search(data) is not None
        if self.kind == DECLARES:
            wanted = self.name
            return any(
                m.group(1).decode("utf-8", "replace") == wanted for m in regex.finditer(data)
            )
        if self.kind == IMPL_HEADER_NAMES:
            word = self.name.encode("utf-8")
            return any(word in _IDENTIFIER_BYTES.findall(m.group(1)) for m in regex.finditer(data))
        if self.kind == IMPL_FOR_TRAIT:
            trait = _compiled(_word_pattern(self.name))
            return any(trait.search(data, m.start(), m.end()) for m in regex.finditer(data))
        raise ValueError(f"unknown selector kind {self.kind!r}")


def _word_pattern(name: str) -> str:
    return whole_word(name.encode("utf-8")).decode("latin-1")


def search(pattern: re.Pattern[bytes]) -> Selector:
    return Selector(SEARCH, pattern.pattern.decode("latin-1"))


def declares(pattern: re.Pattern[bytes], name: str) -> Selector:
    return Selector(DECLARES, pattern.pattern.decode("latin-1"), name)


def impl_header_names(pattern: re.Pattern[bytes], name: str) -> Selector:
    return Selector(IMPL_HEADER_NAMES, pattern.pattern.decode("latin-1"), name)


def impl_for_trait(pattern: re.Pattern[bytes], trait: str) -> Selector:
    return Selector(IMPL_FOR_TRAIT, pattern.pattern.decode("latin-1"), trait)


@dataclass(frozen=True)
class CrateReads:
    """What one file's outcome read of its crate: the selectors asked and the files (relative
    paths) they picked; `whole_crate` when something was read without a selector."""

    selectors: tuple[Selector, ...] = ()
    files: tuple[str, ...] = ()
    whole_crate: bool = False

    def still_valid(self, changed: dict[str, bytes | None]) -> bool:
        """Whether the outcome holds after `changed` (path → new text, None: removed) — none of
        the changed files was read, and none is picked now."""
        if self.whole_crate:
            return not changed
        if not changed.keys().isdisjoint(self.files):
            return False
        return not any(
            selector.matches(data)
            for data in changed.values()
            if data is not None
            for selector in self.selectors
        )


@dataclass
class ReadsRecorder:
    """Collects the reads of one file's matching (filled by the crate index and the gate)."""

    picked: dict[Selector, tuple[int, ...]] = field(default_factory=dict)
    whole_crate: bool = False

    def note(self, selector: Selector, indices: Iterable[int]) -> None:
        if selector not in self.picked:
            self.picked[selector] = tuple(indices)

    @property
    def used(self) -> bool:
        return self.whole_crate or bool(self.picked)

    def reads(self, paths: list[str]) -> CrateReads:
        """The record, with file indices turned into the crate's relative paths."""
        files = sorted({paths[i] for indices in self.picked.values() for i in indices})
        return CrateReads(tuple(sorted(self.picked)), tuple(files), self.whole_crate)
