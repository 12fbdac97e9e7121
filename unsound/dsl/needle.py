"""One prefilter requirement: alternatives of which a file must contain at least one, searched fast.

Python's `re` scans quickly only for a regex that starts with a plain literal; `\\bread\\s*\\(`
or an alternation of such regexes is tried at every position of the file, which on wasmtime
cost as much as parsing it. An alternative that starts with a word is searched here by finding
the word with `bytes.find` (a memchr scan) and trying the regex only where the word occurs.
"""

from __future__ import annotations

import re

# A leading literal word, not followed by a quantifier that would make its last letter optional.
_LEADING_WORD = re.compile(r"(?:\\b)?([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_*?+{])")


class Needle:
    """Alternatives (regex sources), any one of which a file must contain."""

    def __init__(self, alternatives: tuple[str, ...]) -> None:
        self.alternatives = alternatives
        self.pattern = "|".join(f"(?:{a})" for a in alternatives).encode("utf-8")
        self._anchored: list[tuple[bytes, re.Pattern[bytes]]] = []
        generic: list[str] = []
        for alternative in alternatives:
            leading = _LEADING_WORD.match(alternative)
            if leading is None or _has_top_level_bar(alternative):
                generic.append(alternative)
                continue
            compiled = re.compile(alternative.encode("utf-8"))
            self._anchored.append((leading.group(1).encode("utf-8"), compiled))
        self._generic = (
            re.compile("|".join(f"(?:{a})" for a in generic).encode("utf-8")) if generic else None
        )

    def search(self, data: bytes) -> bool:
        """Whether `data` contains a match of one of the alternatives."""
        for word, regex in self._anchored:
            start = data.find(word)
            while start != -1:
                if regex.match(data, start):
                    return True
                start = data.find(word, start + 1)
        return self._generic is not None and self._generic.search(data) is not None

    def __repr__(self) -> str:
        return f"Needle({self.pattern!r})"


def _has_top_level_bar(regex: str) -> bool:
    """Whether `a|b` branches at the top: then the leading word is not in every match."""
    depth, index, in_class = 0, 0, False
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
            return True
        index += 1
    return False
