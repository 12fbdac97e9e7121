"""A Python bytes regex rewritten for RE2, matching the same texts or, where RE2 cannot say it,
more of them.

The prefilter's needles are Python regexes (`re`, on bytes). RE2 searches many regexes in one
pass, but its syntax differs: no lookarounds or back-references, `\\s` without `\\v`, `$` only at
the end of the text. So the regex is not passed on as written: Python's own parser reads it and
the RE2 regex is written from the parse tree, each character class as the explicit bytes Python
gives it. A construct RE2 lacks is widened (a lookaround is dropped, a possessive repeat made
greedy), which makes RE2 find a superset of the matches; the caller then confirms a hit with
`re`. A construct that cannot be widened (a back-reference) gives no translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants as sre
    import sre_parse


@dataclass(frozen=True)
class Re2Regex:
    """An RE2 regex for a Python one: `exact` when it matches exactly the same texts, else it
    matches a superset of them."""

    source: str
    exact: bool


class _Untranslatable(Exception):
    """The regex uses a construct RE2 has no equal or wider form of."""


# The flags a translation handles; any other (LOCALE, a local flag group) is not translated.
_HANDLED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE
# RE2 refuses counted repetitions above 1000.
_MAX_COUNT = 1000
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_DIGIT = frozenset(b"0123456789")
_SPACE = frozenset(b" \t\n\r\f\v")  # Python's `\s` on bytes (RE2's lacks `\v`)
_ALL = frozenset(range(256))


def to_re2(pattern: bytes) -> Re2Regex | None:
    """The RE2 form of a Python bytes regex, or None when it has none."""
    try:
        parsed = sre_parse.parse(pattern, 0)
    except re.error:
        return None
    flags = parsed.state.flags
    if flags & ~(_HANDLED_FLAGS | _ASCII_FLAG):
        return None
    writer = _Writer(caseless=bool(flags & re.IGNORECASE), multiline=bool(flags & re.MULTILINE))
    try:
        body = writer.sequence(parsed.data)
    except _Untranslatable:
        return None
    prefix = ("(?s)" if flags & re.DOTALL else "") + ("(?m)" if flags & re.MULTILINE else "")
    # Case folding: RE2 (Latin-1) folds letters Python leaves apart on bytes (é, É): wider.
    exact = writer.exact and not writer.caseless
    return Re2Regex(("(?i)" if writer.caseless else "") + prefix + body, exact)


_ASCII_FLAG = re.ASCII  # bytes patterns may carry it; it changes nothing on bytes


class _Writer:
    def __init__(self, *, caseless: bool, multiline: bool) -> None:
        self.caseless = caseless
        self.multiline = multiline
        self.exact = True

    def sequence(self, items: Any) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def item(self, op: Any, av: Any) -> str:
        if op is sre.LITERAL:
            return _byte(av)
        if op is sre.NOT_LITERAL:
            return _byte_class(_ALL - self._cased({av}))
        if op is sre.ANY:
            return "."  # without (?s), neither matches a newline; with it, both match all
        if op is sre.IN:
            return _byte_class(self._class(av))
        if op is sre.BRANCH:
            return "(?:" + "|".join(self.sequence(branch) for branch in av[1]) + ")"
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = av
            if add_flags or del_flags:
                raise _Untranslatable
            return "(?:" + self.sequence(inner) + ")"
        if op is sre.MAX_REPEAT or op is sre.MIN_REPEAT:  # lazy or greedy: the same texts match
            return self._repeat(*av)
        if op is getattr(sre, "POSSESSIVE_REPEAT", None):
            self.exact = False  # it may fail where a greedy repeat matches: greedy is wider
            return self._repeat(*av)
        if op is getattr(sre, "ATOMIC_GROUP", None):
            self.exact = False  # as a plain group it matches whatever the atomic one does
            return "(?:" + self.sequence(av) + ")"
        if op is sre.AT:
            return self._at(av)
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            self.exact = False  # a lookaround only narrows the matches: dropped, RE2 finds more
            return ""
        raise _Untranslatable  # back-references, conditional groups

    def _repeat(self, low: int, high: int, inner: Any) -> str:
        body = "(?:" + self.sequence(inner) + ")"
        if low > _MAX_COUNT:
            raise _Untranslatable
        if high == sre.MAXREPEAT or high > _MAX_COUNT:
            if high != sre.MAXREPEAT:
                self.exact = False  # `{2,5000}` as `{2,}`: wider
            return body + ("*" if low == 0 else "+" if low == 1 else f"{{{low},}}")
        return body + f"{{{low},{high}}}"

    def _at(self, where: Any) -> str:
        if where is sre.AT_BOUNDARY:
            return r"\b"  # both ASCII on bytes
        if where is sre.AT_NON_BOUNDARY:
            return r"\B"
        if where is sre.AT_BEGINNING_STRING:
            return r"\A"
        if where is sre.AT_END_STRING:
            return r"\z"
        if where is sre.AT_BEGINNING:
            return "^"  # with (?m) at line starts in both, else at the text's start
        if where is sre.AT_END and self.multiline:
            return "$"
        # `$` without (?m): Python also matches before a final newline, RE2 only at the end.
        self.exact = False
        return ""

    def _class(self, items: Any) -> frozenset[int]:
        negate = False
        members: set[int] = set()
        for op, av in items:
            if op is sre.NEGATE:
                negate = True
            elif op is sre.LITERAL:
                members.add(av)
            elif op is sre.RANGE:
                members.update(range(av[0], av[1] + 1))
            elif op is sre.CATEGORY:
                members.update(_category(av))
            else:
                raise _Untranslatable
        members = self._cased(members)
        return _ALL - members if negate else frozenset(members)

    def _cased(self, members: set[int]) -> set[int]:
        """With IGNORECASE, Python's bytes classes hold both cases of an ASCII letter."""
        if not self.caseless:
            return members
        return members | {b ^ 0x20 for b in members if chr(b).isascii() and chr(b).isalpha()}


def _category(category: Any) -> frozenset[int]:
    sets = {
        sre.CATEGORY_DIGIT: _DIGIT,
        sre.CATEGORY_NOT_DIGIT: _ALL - _DIGIT,
        sre.CATEGORY_SPACE: _SPACE,
        sre.CATEGORY_NOT_SPACE: _ALL - _SPACE,
        sre.CATEGORY_WORD: _WORD,
        sre.CATEGORY_NOT_WORD: _ALL - _WORD,
    }
    found = sets.get(category)
    if found is None:
        raise _Untranslatable
    return found


def _byte(value: int) -> str:
    return f"\\x{value:02x}"


def _byte_class(members: frozenset[int] | set[int]) -> str:
    """A class of exactly these bytes, as ranges (`[\\x30-\\x39\\x5f]`)."""
    if not members:
        raise _Untranslatable  # a class that matches nothing; RE2 has no such class
    if len(members) == 256:
        return r"[\x00-\xff]"
    ordered = sorted(members)
    ranges: list[str] = []
    start = previous = ordered[0]
    for value in [*ordered[1:], -1]:
        if value == previous + 1:
            previous = value
            continue
        ranges.append(_byte(start) if start == previous else f"{_byte(start)}-{_byte(previous)}")
        start = previous = value
    return "[" + "".join(ranges) + "]"
