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
        self._set: NeedleSet | bool | None = False  # built on the first file (False: not yet)

    def _needle_set(self) -> NeedleSet | None:
        if self._set is False:
            self._set = needle_set(self._regexes.values())
        return self._set if isinstance(self._set, NeedleSet) else None

    def wanted(self, data: bytes) -> set[str]:
        """Ids of the rules whose every prefilter regex occurs in `data`."""
        seen: dict[bytes, bool] = {}
        out = set()
        needles = self._needle_set()
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
