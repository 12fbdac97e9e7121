"""Candidate queries that differ only in literal names, run as one tree-sitter pattern.

Many candidate queries differ only in a name (`ptr::read(..)`, `ptr::copy(..)`,
`slice::from_raw_parts(..)`). tree-sitter charges each query about 2 ms to build (its analysis
of the grammar) and each pattern a match attempt at every node of its kind, so those queries are
merged into one whose literal test is an `#any-of?` of their names. A merged candidate goes to
every query it stands for, which checks its own names (in the structural match, or with
`literals_hold`): a mixed combination of two queries' names matches none of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tree_sitter import Node

# A literal of a candidate query: `(#eq? @_t0 "read")` (names are plain identifiers).
LITERAL = re.compile(r'\(#eq\? @(_t\d+) "([A-Za-z0-9_]*)"\)')


def merge_by_literals(queries: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """The queries with the same shape and different literals as one query each, and which
    queries (indices) each merged one stands for, in first-appearance order."""
    groups: dict[str, list[int]] = {}
    for index, query in enumerate(queries):
        groups.setdefault(LITERAL.sub(r"(#eq? @\1 ?)", query), []).append(index)
    merged: list[str] = []
    members: list[list[int]] = []
    for indices in groups.values():
        if len(indices) == 1:
            merged.append(queries[indices[0]])
        else:
            literals: dict[str, set[str]] = {}
            for index in indices:
                for capture, literal in LITERAL.findall(queries[index]):
                    literals.setdefault(capture, set()).add(literal)

            def any_of(match: re.Match[str], literals: dict[str, set[str]] = literals) -> str:
                names = " ".join(f'"{n}"' for n in sorted(literals[match.group(1)]))
                return f"(#any-of? @{match.group(1)} {names})"

            merged.append(LITERAL.sub(any_of, queries[indices[0]]))
        members.append(indices)
    return merged, members


def query_literals(query: str) -> tuple[tuple[str, bytes], ...]:
    """The (capture, name) pairs a query's `#eq?` tests demand."""
    return tuple((capture, literal.encode()) for capture, literal in LITERAL.findall(query))


def literals_hold(literals: tuple[tuple[str, bytes], ...], captures: dict[str, list[Node]]) -> bool:
    """Whether a merged query's match satisfies one member's `#eq?` tests, as tree-sitter
    would have checked them (every node of the capture spells the name)."""
    return all(
        all(node.text == literal for node in captures.get(capture, ()))
        for capture, literal in literals
    )
