"""Crate-level prefilters: rules whose `where` needs a fact only some names of the crate have.

`raw-handle-escapes-drop-owner` and `handle-duplicated-by-destructuring` match every `&self`
method or destructuring `let`, then keep only types that implement `Drop`; `static-mut-reference`
matches every `&x` and method call, then keeps only names of a `static mut`. Such a name is
spelled in the matched file (or macro region), so a file that spells none of the crate's
implementing types, or none of its `static mut`s, cannot match: it is not even parsed for these
rules. The names come from the same regexes the crate index uses to answer `implements` and
`is static-mut` (`impl … for NAME` filtered by the trait's word in the header; `static mut
NAME`): a superset of what those conditions can say yes to. The answer depends on other files,
so an outcome it shaped is crate-dependent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.rule_facts import (
    STATIC_MUT_FACT,
    crate_words,
    required_impls,
    requires_static_mut,
)
from unsound.dsl.word_regex import whole_word
from unsound.engine import crate_reads
from unsound.engine.crate_index import IMPL_FOR, STATIC_MUT_DECLARATION
from unsound.engine.crate_reads import ReadsRecorder, Selector


class CrateGate:
    """The crate facts each rule requires of a name spelled in the matched file, and the names
    one of which the crate must spell for the rule to match at all (`crate_words`)."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.needs: dict[str, tuple[str, ...]] = {}
        # Per rule, the names one of which the crate must spell (`CrateIndex.spells_any`).
        self.crate_words: dict[str, tuple[str, ...]] = {}
        for rule in rules:
            static_mut = [STATIC_MUT_FACT] if requires_static_mut(rule) else []
            facts = (*required_impls(rule), *static_mut)
            if facts:
                self.needs[rule.id] = facts
            words = crate_words(rule)
            if words:
                self.crate_words[rule.id] = words

    def for_crate(self, texts: Sequence[bytes]) -> CrateNames:
        return CrateNames(self.needs, texts)


class CrateNames:
    """One crate's names per fact (implementing types per trait, `static mut`s), computed when
    first asked."""

    def __init__(self, needs: dict[str, tuple[str, ...]], texts: Sequence[bytes]) -> None:
        self._needs = needs
        self._texts = texts
        self._names: dict[str, re.Pattern[bytes] | None] = {}
        # The same names as one RE2 regex, for whole files (`_named_in`).
        self._searchers: dict[str, _Search | None] = {}
        self._picked: dict[str, tuple[Selector, dict[int, frozenset[str]]]] = {}
        self._after_prefix: dict[tuple[str, str], re.Pattern[bytes]] = {}
        # The files each fact's names came from are noted here; the scan swaps in one recorder
        # per matched file (`crate_reads`).
        self.recorder = ReadsRecorder()

    def filter(self, wanted: set[str], data: bytes) -> tuple[set[str], bool]:
        """The wanted rules whose required facts have a name spelled in `data`, and whether
        any crate-level fact was consulted."""
        consulted = False
        kept = set()
        for rule_id in wanted:
            if rule_id in self._needs:
                consulted = True
                if not self.allows(rule_id, data):
                    continue
            kept.add(rule_id)
        return kept, consulted

    def allows(self, rule_id: str, data: bytes) -> bool:
        """Whether `data` (a file or a macro region) spells a name of every fact the rule needs."""
        return all(self._named_in(fact, data) for fact in self._needs.get(rule_id, ()))

    def implementing(self, trait: str) -> frozenset[str]:
        """The crate's names of types with an `impl … trait for NAME` (a superset of those
        `implements` says yes to), their reads noted like `allows`'."""
        self._named_in(trait, b"")
        _, per_file = self._picked[trait]
        return frozenset(name for names in per_file.values() for name in names)

    def after_prefix(self, trait: str, prefix: str) -> re.Pattern[bytes] | None:
        """`prefix` (a regex source) then one of the crate's names for the trait, or `Self`,
        as a whole word (`rule_facts.fact_phrases`); None when the crate has no such name.
        Its reads noted like `allows`'."""
        names = self.implementing(trait)
        if not names:
            return None
        key = (trait, prefix)
        found = self._after_prefix.get(key)
        if found is None:
            alternatives = b"|".join(re.escape(n.encode("latin-1")) for n in sorted(names))
            found = self._after_prefix[key] = re.compile(
                prefix.encode("latin-1") + rb"(?:r#)?(?:Self|" + alternatives + rb")(?!\w)"
            )
        return found

    def names(self, fact: str) -> re.Pattern[bytes] | None:
        """Any of the crate's names for the fact, as a whole word (None: it has none), its
        reads noted like `allows`'."""
        self._named_in(fact, b"")
        return self._names[fact]

    def _named_in(self, fact: str, data: bytes) -> bool:
        if fact not in self._names:
            if fact == STATIC_MUT_FACT:
                selector, word = crate_reads.search(STATIC_MUT_DECLARATION), b"static"
            else:
                trait = fact.rsplit("::", 1)[-1]
                # The trait's name is in every `impl … for` header the selector takes.
                selector, word = crate_reads.impl_for_trait(IMPL_FOR, trait), trait.encode()
            per_file = self._captured(selector, prefilter=word)
            names = {n for names in per_file.values() for n in names}
            regex = self._names[fact] = _any_word(names)
            self._searchers[fact] = _whole_word_search(names, regex)
            self._picked[fact] = (selector, per_file)
        self.recorder.note_names(*self._picked[fact])
        search = self._searchers[fact]
        return search is not None and search(data) is not None

    def _captured(self, selector: Selector, prefilter: bytes) -> dict[int, frozenset[str]]:
        """The names the selector captures in each file of the crate that has any (`impl …
        for TYPE` whose header names the trait; `static mut NAME`): the gate's answer, noted
        per file so that a rescan can tell a change that keeps them (`crate_reads`)."""
        per_file = {}
        for index, text in enumerate(self._texts):
            if prefilter and prefilter not in text:
                continue
            names = selector.captures(text)
            if names:
                per_file[index] = names
        return per_file


_Search = Callable[[bytes], object]


def _whole_word_search(names: set[str], fallback: re.Pattern[bytes] | None) -> _Search | None:
    """A search for any of the names as a whole word, with RE2 where it is installed: one DFA
    pass over a file whatever the number of names (wasmtime's gate, 24 sets of up to 62 names
    searched in 1,150 files: 0.079 s with `re`, 0.028 s with RE2). The names are identifiers,
    for which RE2's ASCII `\\b` is the lookarounds of `whole_word`. `fallback`: the names'
    `_any_word`, where RE2 is missing or refuses them."""
    if not names or fallback is None:
        return None
    try:
        import re2
    except ImportError:
        return fallback.search
    words = b"|".join(re.escape(name.encode("latin-1")) for name in sorted(names))
    try:
        compiled = re2.compile(rb"\b(?:" + words + rb")\b")
    except re2.error:
        return fallback.search
    return compiled.search


def _any_word(names: set[str]) -> re.Pattern[bytes] | None:
    """Any of the names as a whole word. Each alternative starts with its literal name, so `re`
    skips positions whose byte starts no name: 4x faster on wasmtime than `\\b(?:A|B)\\b`,
    which is tried at every position."""
    if not names:
        return None
    return re.compile(b"|".join(whole_word(n.encode("latin-1")) for n in sorted(names)))
