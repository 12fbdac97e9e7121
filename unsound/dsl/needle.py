"""One prefilter requirement: alternatives of which a file must contain at least one, searched fast.

Python's `re` scans quickly only for a regex that starts with a plain literal; `\\bread\\s*\\(`
or an alternation of such regexes is tried at every position of the file, which on wasmtime
cost as much as parsing it. Here each alternative is split into its top-level branches. A
branch that starts with a long word is searched by finding the word with `bytes.find` and trying
the regex only where it occurs; one that starts with a short word is rewritten to start with the
literal word (`re` scans for it itself); the others are grouped by their leading character.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from unsound.dsl.re2_syntax import to_re2
from unsound.dsl.word_regex import after_word

# A leading literal word, not followed by a quantifier that would make its last letter optional.
_LEADING_WORD = re.compile(r"(?:\\b)?([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_*?+{])")


class Needle:
    """Alternatives (regex sources), any one of which a file must contain."""

    def __init__(self, alternatives: tuple[str, ...]) -> None:
        self.alternatives = alternatives
        self.pattern = "|".join(f"(?:{a})" for a in alternatives).encode("utf-8")
        # Each alternative's RE2 form (`dsl.re2_syntax`: source and whether it is exact, None
        # where RE2 cannot say it), for the prefilter's one-pass search (`engine.needle_set`).
        # Worked out where the rule is compiled and kept with it: every process that built the
        # set spent 17 ms rewriting the built-in rules' alternatives.
        self.re2_forms: tuple[tuple[str, bool] | None, ...] = tuple(
            _re2_form(a) for a in alternatives
        )
        # Compiled now (a bad regex fails with the rule's compilation, not in a worker); a run
        # that loads its rules from the compiled-rules cache, whose pickle holds the
        # alternatives alone, compiles each branch when a search first needs it.
        self._searchers: _Searchers | None = _searchers(alternatives)
        for branch in (*self._searchers[0], *self._searchers[1]):
            branch.regex()

    def __getstate__(self) -> _State:
        return self.alternatives, self.pattern, self.re2_forms

    def __setstate__(self, state: _State) -> None:
        self.alternatives, self.pattern, self.re2_forms = state
        self._searchers = None

    def compile(self) -> _Searchers:
        """How the needle is searched (built on the first call), every branch compiled."""
        searchers = self._searchers
        if searchers is None:
            searchers = self._searchers = _searchers(self.alternatives)
        for branch in (*searchers[0], *searchers[1]):
            branch.regex()
        return searchers

    def search(self, data: bytes) -> bool:
        """Whether `data` contains a match of one of the alternatives.

        A branch is compiled when the search first tries it: a branch searched from its word
        only once the word is in the data, the others in order until one matches. A one-file
        rescan then compiles a few of the built-in rules' 172 branches, not all (16 ms)."""
        searchers = self._searchers
        if searchers is None:
            searchers = self._searchers = _searchers(self.alternatives)
        anchored, generic = searchers
        for branch in anchored:
            word = branch.word
            start = data.find(word)
            if start == -1:
                continue
            regex = branch.compiled or branch.regex()
            while start != -1:
                if regex.match(data, start):
                    return True
                start = data.find(word, start + 1)
        return any((branch.compiled or branch.regex()).search(data) for branch in generic)

    def finders(self) -> list[Callable[[bytes, int], int]]:
        """One function per branch giving a position at or after a start where a match of the
        branch may start, the first such (-1: none): where a branch searched from its leading
        word finds the word, where another branch matches. No match starts before it."""
        searchers = self._searchers
        if searchers is None:
            searchers = self._searchers = _searchers(self.alternatives)
        anchored, generic = searchers
        found: list[Callable[[bytes, int], int]] = [
            partial(_find_word, branch.word) for branch in anchored
        ]
        found += [partial(_find_match, branch.compiled or branch.regex()) for branch in generic]
        return found

    def __repr__(self) -> str:
        return f"Needle({self.pattern!r})"


_State = tuple[tuple[str, ...], bytes, tuple[tuple[str, bool] | None, ...]]


def _re2_form(alternative: str) -> tuple[str, bool] | None:
    rewritten = to_re2(alternative.encode("utf-8"))
    return None if rewritten is None else (rewritten.source, rewritten.exact)


def _find_word(word: bytes, data: bytes, start: int) -> int:
    return data.find(word, start)


def _find_match(regex: re.Pattern[bytes], data: bytes, start: int) -> int:
    matched = regex.search(data, start)
    return -1 if matched is None else matched.start()


class _Branch:
    """One regex of a needle, compiled on first use; `word`, when it is searched from the
    literal word every match starts with."""

    __slots__ = ("compiled", "source", "word")

    def __init__(self, source: bytes, word: bytes = b"") -> None:
        self.source, self.word = source, word
        self.compiled: re.Pattern[bytes] | None = None

    def regex(self) -> re.Pattern[bytes]:
        compiled = self.compiled
        if compiled is None:
            compiled = self.compiled = re.compile(self.source)
        return compiled

    def __eq__(self, other: object) -> bool:
        """By what it searches for, compiled or not."""
        return isinstance(other, _Branch) and (self.source, self.word) == (other.source, other.word)

    def __hash__(self) -> int:
        return hash((self.source, self.word))


# Branches searched from their leading long word (tried only where the word occurs), and the
# branches `re` scans for itself.
_Searchers = tuple[list[_Branch], list[_Branch]]


def _searchers(alternatives: tuple[str, ...]) -> _Searchers:
    """How the alternatives are searched fast (their regexes not compiled yet).

    The branches without a leading long word are grouped by their leading literal character:
    `re` finds a regex that starts with one (`\\*`, `&`, `->`) with a fast scan, but tries an
    alternation of branches that start differently at every position (`\\*\\s*mut|NonNull`:
    10x slower on wasmtime than the two searched apart).
    """
    anchored: list[_Branch] = []
    generic: list[_Branch] = []
    groups: dict[str | None, list[str]] = {}
    for branch in (b for alternative in alternatives for b in _branches(alternative)):
        leading = _LEADING_WORD.match(branch)
        if leading is None or _has_top_level_bar(branch):
            groups.setdefault(_leading_literal(branch), []).append(branch)
            continue
        word = leading.group(1)
        if len(word) <= _SHORT_WORD:
            # A short word is inside many others (`as` in `class`, `read` in `thread`): a
            # Python loop over its occurrences costs more than `re`'s own scan for the word
            # written first; a long one is rare, and `bytes.find` then skips faster.
            generic.append(_Branch(_word_first(branch, leading).encode("utf-8")))
            continue
        anchored.append(_Branch(branch.encode("utf-8"), word.encode("utf-8")))
    generic += [
        _Branch("|".join(f"(?:{b})" for b in group).encode("utf-8")) for group in groups.values()
    ]
    return anchored, generic


_SHORT_WORD = 6  # measured on wasmtime: 3 → 0.67 s, 6 → 0.57 s, 12 → 0.60 s, all → 0.62 s


def _word_first(branch: str, leading: re.Match[str]) -> str:
    """The branch written to start with its literal word, which `re` scans for: a leading
    `\\b` becomes a lookbehind after the word (`\\bas\\s*\\*` → `as(?<![\\w]as)\\s*\\*`),
    the same test."""
    word, rest = leading.group(1), branch[leading.end() :]
    if branch.startswith("\\b"):
        return after_word(word.encode(), rest.encode("utf-8")).decode("utf-8")
    return word + rest


def _branches(regex: str) -> list[str]:
    """The top-level branches of `a|b|c` (the regex itself when it has one, or when it starts
    with flags, which apply to every branch)."""
    if regex.startswith("(?") and not regex.startswith(("(?:", "(?=", "(?!", "(?<", "(?P")):
        return [regex]
    return _split_top_level(regex)


def _split_top_level(regex: str) -> list[str]:
    """`regex` cut at each `|` outside groups, classes and escapes."""
    branches, depth, index, in_class, start = [], 0, 0, False, 0
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(regex[start:index])
            start = index + 1
        index += 1
    return [*branches, regex[start:]]


_SPECIAL = frozenset(".^$*+?{}[]\\|()")


def _leading_literal(regex: str) -> str | None:
    """The character every match of `regex` starts with, when it is written first (`\\*`,
    `&`, `-`), unless a quantifier makes it optional; None otherwise."""
    if regex.startswith("\\") and len(regex) > 1 and not regex[1].isalnum():
        char, rest = regex[1], regex[2:]
    elif regex and regex[0] not in _SPECIAL:
        char, rest = regex[0], regex[1:]
    else:
        return None
    return None if rest[:1] in ("*", "?", "{") else char


def _has_top_level_bar(regex: str) -> bool:
    """Whether `a|b` branches at the top: then the leading word is not in every match."""
    return len(_split_top_level(regex)) > 1
