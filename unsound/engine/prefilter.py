"""The rule set's literal prefilter, with each distinct regex searched at most once per file.

`CompiledRule.may_match` is exact but per rule: 50 rules that share the words `*mut` / `NonNull`
would search a file 50 times, and on wasmtime one such search over every file costs about as much
as parsing the files that pass it. Rules' prefilter regexes are deduplicated by their source here
and searched lazily, so the cost grows with the number of distinct words, not of rules. The answer
is the same set of rule ids `RuleSetMatcher.wanted` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.needle import Needle


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

    def wanted(self, data: bytes) -> set[str]:
        """Ids of the rules whose every prefilter regex occurs in `data`."""
        seen: dict[bytes, bool] = {}
        out = set()
        for rule_id, keys in self._rules:
            for key in keys:
                found = seen.get(key)
                if found is None:
                    found = seen[key] = self._regexes[key].search(data)
                if not found:
                    break
            else:
                out.add(rule_id)
        return out
