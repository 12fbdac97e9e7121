"""The rule set's literal prefilter, with each distinct regex searched at most once per file.

`CompiledRule.may_match` is exact but per rule: 50 rules that share the words `*mut` / `NonNull`
would search a file 50 times, and on wasmtime one such search over every file costs about as much
as parsing the files that pass it. Rules' prefilter regexes are deduplicated by their source here
and searched lazily, so the cost grows with the number of distinct words, not of rules. The answer
is the same set of rule ids `RuleSetMatcher.wanted` gives.

Where RE2 is installed, one pass of its multi-regex set finds every needle in a file
(`engine.needle_set`); `re` then only confirms what RE2 can only over-approximate.
"""

from __future__ import annotations

from collections.abc import Sequence

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.needle import Needle
from unsound.engine.needle_set import NeedleSet, needle_set

# Bytes searched with `re` before the RE2 set is built: `re` took 0.59 s for wasmtime's 27.8 MB.
_SET_AFTER_BYTES = 1_000_000


class RuleSetPrefilter:
    """Which rules may match a file's bytes, from their literal prefilters."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        regexes: dict[bytes, Needle] = {}
        self._rules: list[tuple[str, tuple[bytes, ...]]] = []
        for rule in rules:
            keys = []
            for pattern in rule.prefilter:
                regexes.setdefault(pattern.pattern, pattern)
                keys.append(pattern.pattern)
            self._rules.append((rule.id, tuple(keys)))
        self._regexes = regexes
        self._set: NeedleSet | None = None
        self._set_tried = False  # whether the set was built (None: RE2 missing or refusing)
        self._searched = 0  # bytes searched with `re` alone so far

    def _needle_set(self, data: bytes) -> NeedleSet | None:
        """The RE2 set, once the files searched without it have paid for building it (rent or
        buy): its building (the rewrites, RE2's import and compile) took about 25 ms, what `re`
        spends on about 1 MB of wasmtime's files; a one-file rescan never builds it."""
        if not self._set_tried:
            if self._searched < _SET_AFTER_BYTES:
                self._searched += len(data)
                return None
            self.build_set()
        return self._set

    def build_set(self) -> None:
        """Build the RE2 set now: for a process whose workers it forks (`engine.zygote`), where
        every file of every worker's scan uses it."""
        if not self._set_tried:
            self._set_tried = True
            self._set = needle_set(self._regexes.values())

    def wanted(self, data: bytes) -> set[str]:
        """Ids of the rules whose every prefilter regex occurs in `data`."""
        seen: dict[bytes, bool] = {}
        out = set()
        needles = self._needle_set(data)
        hits = needles.hits(data) if needles is not None else frozenset()
        for rule_id, keys in self._rules:
            for key in keys:
                found = seen.get(key)
                if found is None:
                    needle = self._regexes[key]
                    found = seen[key] = (
                        needles.found(needle, data, hits)
                        if needles is not None
                        else needle.search(data)
                    )
                if not found:
                    break
            else:
                out.add(rule_id)
        return out
