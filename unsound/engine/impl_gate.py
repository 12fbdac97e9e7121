"""A crate-level prefilter for rules that require `$S implements "Trait"` of a type in the file.

`raw-handle-escapes-drop-owner` and `handle-duplicated-by-destructuring` match every `&self`
method or destructuring `let`, then keep only types that implement `Drop`. Such a type is named
in the matched file (the impl's type, the pattern's struct), so a file that names no type the
crate has an `impl Drop for` cannot match: it is not even parsed for these rules. The set of
implementing names comes from the same `impl … for NAME` regex the crate index uses to answer
`implements`, filtered by the trait's word in the impl header: a superset of what `implements`
can say yes to. The answer depends on other files, so an outcome it shaped is crate-dependent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from unsound.dsl.compiler import CompiledRule, required_impls
from unsound.engine.crate_index import IMPL_FOR


class ImplGate:
    """The traits each rule requires of a type named in the matched file."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.needs = {rule.id: traits for rule in rules if (traits := required_impls(rule))}

    def for_crate(self, texts: Sequence[bytes]) -> CrateImpls:
        return CrateImpls(self.needs, texts)


class CrateImpls:
    """One crate's implementing type names, per trait, computed when first asked."""

    def __init__(self, needs: dict[str, tuple[str, ...]], texts: Sequence[bytes]) -> None:
        self._needs = needs
        self._texts = texts
        self._names: dict[str, re.Pattern[bytes] | None] = {}

    def filter(self, wanted: set[str], data: bytes) -> tuple[set[str], bool]:
        """The wanted rules whose required traits have an implementing type named in `data`,
        and whether any crate-level fact was consulted."""
        consulted = False
        kept = set()
        for rule_id in wanted:
            traits = self._needs.get(rule_id)
            if traits:
                consulted = True
                if not all(self._named_in(trait, data) for trait in traits):
                    continue
            kept.add(rule_id)
        return kept, consulted

    def _named_in(self, trait: str, data: bytes) -> bool:
        if trait not in self._names:
            self._names[trait] = self._implementors(trait)
        names = self._names[trait]
        return names is not None and names.search(data) is not None

    def _implementors(self, trait: str) -> re.Pattern[bytes] | None:
        word = re.compile(rb"\b" + re.escape(trait.rsplit("::", 1)[-1].encode()) + rb"\b")
        names = {
            match.group(1)
            for text in self._texts
            for match in IMPL_FOR.finditer(text)
            if word.search(text, match.start(), match.end())
        }
        if not names:
            return None
        alternatives = b"|".join(re.escape(n) for n in sorted(names))
        return re.compile(rb"\b(?:" + alternatives + rb")\b")
