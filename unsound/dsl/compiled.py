"""What a compiled rule is (without compiling anything).

Kept apart from `compiler` so that a run that loads its rules from the compiled-rules cache
(`dsl.rule_cache`) needs only this module, not the compiler, the rule parser or lark; and
apart from `rule_facts` (what the engine works out from a rule's conditions) so that it does
not need the rule's syntax tree either (`dsl.rule_pickle`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

    from unsound.dsl import ast
    from unsound.dsl.ast import CodeBlock
    from unsound.dsl.needle import Needle
    from unsound.dsl.pattern import Pattern
    from unsound.model import RuleInfo

MATCH_VAR = "MATCH"  # always bound: the whole matched node


class LazyRegexes(Mapping[str, "regex.Pattern[str]"]):
    """A rule's `matches` regexes by source, each compiled on first use.

    The compiler checks every one when it compiles the rule; a run that loads its rules from
    the compiled-rules cache compiles only those a candidate asks for (compiling all of the
    built-in rules' regexes again cost a rescan of wasmtime 20-35 ms before any file was read).
    A pickle holds the sources alone.
    """

    def __init__(
        self, sources: tuple[str, ...], compiled: dict[str, regex.Pattern[str]] | None = None
    ) -> None:
        self._sources = sources  # a rule has a handful: a tuple is the fastest lookup
        self._compiled = dict(compiled or {})

    def __getitem__(self, source: str) -> regex.Pattern[str]:
        found = self._compiled.get(source)
        if found is None:
            if source not in self._sources:
                raise KeyError(source)
            import regex

            found = self._compiled[source] = regex.compile(source, regex.VERSION0)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def __getstate__(self) -> tuple[str, ...]:
        return self._sources

    def __setstate__(self, state: tuple[str, ...]) -> None:
        self._sources = tuple(state)
        self._compiled = {}


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run: its metadata, compiled patterns, conditions and prefilter."""

    ast: ast.RuleAst
    info: RuleInfo
    patterns: tuple[Pattern, ...]
    relations: dict[
        CodeBlock, tuple[Pattern, ...]
    ]  # patterns of `inside`/`has`/`follows`/`precedes`
    regexes: Mapping[str, regex.Pattern[str]]  # a `LazyRegexes`
    prefilter: tuple[Needle, ...]  # every one must be found in a file's bytes
    # Every one must be found in a macro region's bytes (from `where` lines about its own code).
    region_prefilter: tuple[Needle, ...]
    # Every one is matched inside each top-level item that holds a match (its patterns' words,
    # the words of `where` lines about its own code that look no further than its subtree and
    # ancestors): the items a file's parse can be limited to (`engine.item_ranges`). Empty: the
    # rule cannot say, and a file it wants is parsed whole.
    locators: tuple[Needle, ...]
    # Per locator, whether a match holds it in its own text (not only around it, `inside`):
    # then a piece of a file holds all such locators of a match at once. (No default: a class
    # attribute would hide the field of a rule whose body is still pickled.)
    locators_in_match: tuple[bool, ...]

    def __reduce__(self) -> tuple[Callable[..., CompiledRule], tuple[object, ...]]:
        """Pickled as its id, metadata and fingerprint, and its body as bytes that the unpickled
        rule loads on first use (`dsl.rule_pickle`)."""
        from unsound.dsl.rule_pickle import reduce_rule

        return reduce_rule(self)

    if not TYPE_CHECKING:  # every field is declared above: mypy must not accept any name

        def __getattr__(self, name: str) -> object:
            """A body field of a rule restored by `rule_pickle.restore_rule`, loaded now."""
            body = self.__dict__.get("_body")
            if body is None or name not in BODY_FIELDS:
                raise AttributeError(f"'CompiledRule' object has no attribute {name!r}")
            from unsound.dsl.rule_pickle import load_body

            self.__dict__.update(zip(BODY_FIELDS, load_body(body), strict=True))
            del self.__dict__["_body"]
            return self.__dict__[name]

    @cached_property
    def fingerprint(self) -> str:
        """A digest of what the rule says (its metadata and syntax tree), for the scan cache's
        key. Worked out where the rule is compiled (`compiler.compile_rule`) and kept with it in
        the compiled-rules cache: the `repr` of the built-in rules' trees took every rescan of
        wasmtime 9 ms before its workers could start."""
        text = f"{self.info!r}\n{self.ast!r}\n"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    @cached_property
    def id(self) -> str:
        # Read for every candidate of every pattern (`RuleSetMatcher._collect`): once looked
        # up, a plain attribute of the instance.
        return self.ast.id

    def may_match(self, data: bytes) -> bool:
        return all(p.search(data) for p in self.prefilter)

    def may_match_region(self, data: bytes) -> bool:
        """Whether a region of a file this rule wants (a macro's arguments or transcriber) can
        hold a match: every word of one of the patterns must be in it, common keywords included
        (`fn`, `impl`), which rules out most macro arguments, and the words of every `where`
        line about the region's own code (`$FN matches "transmute"`, `$MATCH follows
        `$Q::read($S)``). The rule's file prefilter is not asked again: its other `where` words
        (`unsafe` for `is static-mut`) may lie outside the region.
        """
        for words in self._region_words:
            for word in words:
                if word not in data:
                    break
            else:
                return all(needle.search(data) for needle in self.region_prefilter)
        return False

    @cached_property
    def _region_words(self) -> tuple[tuple[bytes, ...], ...]:
        """Each pattern's words, longest (rarest) first so that a region without them fails
        on the first test; patterns that spell the same words once. Every macro region of a
        file asks, so this is built once per rule."""
        distinct = dict.fromkeys(
            tuple(sorted(p.all_words, key=lambda w: (-len(w), w))) for p in self.patterns
        )
        return tuple(distinct)


# The fields a rule pickled by `rule_pickle` carries as bytes: all but its metadata.
BODY_FIELDS = (
    "ast",
    "patterns",
    "relations",
    "regexes",
    "prefilter",
    "region_prefilter",
    "locators",
    "locators_in_match",
)
