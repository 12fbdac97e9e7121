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

A selector tests text, so it also picks files that only spell the words: rust-analyzer's test
fixtures declare `enum Option` inside string literals. Each answer is what the files read give
for it, file by file (`crate_index.file_contributes`); the index notes the questions asked and
the files that gave something (`loud`). A changed file that gave nothing to any of the
outcome's questions, and gives nothing to any of them now (its new text parsed and asked), cannot
have changed an answer: the outcome stays ("early cutoff", as for the gate's names below).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
# `search-spelling`: the regex occurs and the text spells `name` as a word (`mod`: a file that
# allows a lint declares modules where it is allowed only if it declares modules at all).
SEARCH = "search"
SEARCH_SPELLING = "search-spelling"
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
        if self.kind == SEARCH_SPELLING:
            spelled = _compiled(_word_pattern(self.name))
            return regex.search(data) is not None and spelled.search(data) is not None
        # The other kinds match only where their name is written: a text without its bytes is
        # answered without the regex (most of a crate's files, for a type's or a trait's name).
        if self.kind in _NAMED and not _may_name(self.name, data):
            return False
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

    def captures(self, data: bytes) -> frozenset[str]:
        """The names a `search` or `impl-for-trait` selector's regex captures in `data` (its
        first group), which the crate gate takes as its answer: not empty exactly when the
        selector matches."""
        regex = _compiled(self.pattern)
        if self.kind == SEARCH:
            found = regex.finditer(data)
        elif self.kind == IMPL_FOR_TRAIT:
            trait = _compiled(_word_pattern(self.name))
            found = (m for m in regex.finditer(data) if trait.search(data, m.start(), m.end()))
        else:
            raise ValueError(f"a `{self.kind}` selector captures no names")
        return frozenset(m.group(1).decode("latin-1") for m in found)


_NAMED = frozenset({DECLARES, IMPL_HEADER_NAMES, IMPL_FOR_TRAIT})


def _may_name(name: str, data: bytes) -> bool:
    """False only when `data` cannot spell `name`: its UTF-8 bytes are absent. A name holding
    U+FFFD may stand for bytes that were not UTF-8 (`DECLARES` decodes with replacement)."""
    return "\ufffd" in name or name.encode("utf-8") in data


@cache
def _word_pattern(name: str) -> str:
    """Remembered: a selector asks it of every file it tests (polars: 3,846 calls)."""
    return whole_word(name.encode("utf-8")).decode("latin-1")


def search(pattern: re.Pattern[bytes]) -> Selector:
    return Selector(SEARCH, pattern.pattern.decode("latin-1"))


def search_spelling(pattern: re.Pattern[bytes], word: str) -> Selector:
    return Selector(SEARCH_SPELLING, pattern.pattern.decode("latin-1"), word)


def declares(pattern: re.Pattern[bytes], name: str) -> Selector:
    return Selector(DECLARES, pattern.pattern.decode("latin-1"), name)


def impl_header_names(pattern: re.Pattern[bytes], name: str) -> Selector:
    return Selector(IMPL_HEADER_NAMES, pattern.pattern.decode("latin-1"), name)


def impl_for_trait(pattern: re.Pattern[bytes], trait: str) -> Selector:
    return Selector(IMPL_FOR_TRAIT, pattern.pattern.decode("latin-1"), trait)


# The names a selector of the crate gate captured in each file it picked: (path, names).
GateNames = tuple[tuple[str, tuple[str, ...]], ...]
# A question of the crate index: its kind and argument (`("definitions", "Foo")`).
Question = tuple[str, str]
# Stands for reads no question accounts for: no file is ever known to give nothing to it.
UNKNOWN_QUESTION: Question = ("unknown", "")
# Whether a file's text gives something to any of the questions (path, text, questions).
Contributes = Callable[[str, bytes, tuple[Question, ...]], bool]


@dataclass(frozen=True)
class CrateReads:
    """What one file's outcome read of its crate: the selectors asked and the files (relative
    paths) they picked; `whole_crate` when something was read without a selector.

    The crate gate's selectors are kept apart in `gate`, with the names each captured per
    picked file: the gate's answer is those names and nothing else of the file, so a change
    to a file that captures the same names (a comment, a method body) cannot alter it
    ("early cutoff": on tikv a comment in a file with `impl Drop` redid 49 outcomes). `files`
    holds only the files the other selectors picked.
    """

    selectors: tuple[Selector, ...] = ()
    files: tuple[str, ...] = ()
    whole_crate: bool = False
    gate: tuple[tuple[Selector, GateNames], ...] = ()
    # The index's questions asked (`crate_index.QUESTION_KINDS`, with their argument) and the
    # files among `files` that gave something to one of them.
    questions: tuple[Question, ...] = ()
    loud: tuple[str, ...] = ()

    def still_valid(
        self, changed: dict[str, bytes | None], contributes: Contributes | None = None
    ) -> bool:
        """Whether the outcome holds after `changed` (path → new text, None: removed): every
        gate selector captures the same names in each changed file as before, and each changed
        file either was not read and is not picked now, or gave nothing to the outcome's
        questions before and, if picked now, gives nothing now (`contributes` asks its new
        text; without it, a changed file read or picked redoes the outcome)."""
        if self.whole_crate:
            return not changed
        # Without questions (reads made by hand, or a selector no question names: see
        # `ReadsRecorder.reads`) nothing tells what a file gave: a file read or picked counts.
        ask = contributes if self.questions else None
        gate = {selector: dict(names) for selector, names in self.gate}
        for path, data in changed.items():
            for selector, before in gate.items():
                after = selector.captures(data) if data is not None else frozenset()
                if after != frozenset(before.get(path, ())):
                    return False
            if path in self.files and (ask is None or path in self.loud):
                return False
            if data is None:
                continue
            picked_now = any(
                selector.matches(data) for selector in self.selectors if selector not in gate
            )
            if picked_now and (ask is None or ask(path, data, self.questions)):
                return False
        return True


@dataclass
class ReadsRecorder:
    """Collects the reads of one file's matching (filled by the crate index and the gate)."""

    picked: dict[Selector, tuple[int, ...]] = field(default_factory=dict)
    # The crate gate's selectors: the names each captured, per picked file index.
    captured: dict[Selector, dict[int, frozenset[str]]] = field(default_factory=dict)
    whole_crate: bool = False
    # The index's questions, with the selectors that picked their files, and for those whose
    # answer was made file by file, the paths that gave something.
    asked: dict[Question, tuple[Selector, ...]] = field(default_factory=dict)
    loud: dict[Question, frozenset[str]] = field(default_factory=dict)

    def note(self, selector: Selector, indices: Iterable[int]) -> None:
        if selector not in self.picked:
            self.picked[selector] = tuple(indices)

    def note_question(self, question: Question, selectors: tuple[Selector, ...]) -> None:
        self.asked.setdefault(question, selectors)

    def note_loud(self, question: Question, paths: frozenset[str]) -> None:
        """The files that gave something to the question's answer."""
        self.loud.setdefault(question, paths)

    def note_names(self, selector: Selector, names: dict[int, frozenset[str]]) -> None:
        """A gate selector's answer: the names it captured in each file it picked."""
        if selector not in self.captured:
            self.captured[selector] = names

    @property
    def used(self) -> bool:
        return self.whole_crate or bool(self.picked) or bool(self.captured)

    def reads(self, paths: list[str]) -> CrateReads:
        """The record, with file indices turned into the crate's relative paths. A selector the
        index also asked counts as the index's (its files are read, not only their names)."""
        files = sorted({paths[i] for indices in self.picked.values() for i in indices})
        gate = tuple(
            (selector, tuple((paths[i], tuple(sorted(names[i]))) for i in sorted(names)))
            for selector, names in sorted(self.captured.items())
            if selector not in self.picked
        )
        selectors = tuple(sorted({*self.picked, *(selector for selector, _ in gate)}))
        # A question whose answer was not made file by file counts every file it picked as
        # having given something; so does a file picked by a selector no question names.
        loud: set[str] = set()
        for question, asked_selectors in self.asked.items():
            if question in self.loud:
                loud |= self.loud[question]
            else:
                loud |= {paths[i] for s in asked_selectors for i in self.picked.get(s, ())}
        named = {s for asked_selectors in self.asked.values() for s in asked_selectors}
        questions = set(self.asked)
        if any(s not in named for s in self.picked):
            questions.add(UNKNOWN_QUESTION)  # what it picks now always counts as given
            loud |= {
                paths[i] for s, picked in self.picked.items() if s not in named for i in picked
            }
        return CrateReads(
            selectors,
            tuple(files),
            self.whole_crate,
            gate,
            tuple(sorted(questions)),
            tuple(sorted(loud & set(files))),
        )
