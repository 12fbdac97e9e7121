"""Runs a rule set over one parsed file: one combined tree-sitter query, then exact checks.

Every rule's patterns become one `Query`, so a file's tree is searched once in C whatever the
number of rules; Python only looks at the candidates the query returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from tree_sitter import Node, Query, QueryCursor

from unsound.dsl.compiler import MATCH_VAR, CompiledRule, required_relations
from unsound.dsl.pattern import Pattern
from unsound.dsl.rust_parser import rust_language
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.conditions import MatchContext, all_hold
from unsound.engine.crate_index import CrateIndex
from unsound.engine.findings import build_finding
from unsound.engine.macros import REGION_PATTERNS, macro_units
from unsound.engine.matching import match_pattern
from unsound.engine.units import ParsedFile
from unsound.model import Finding


class RuleSetMatcher:
    """All compiled rules, with their patterns combined into one query."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self._entries: list[tuple[CompiledRule, Pattern]] = [
            (rule, pattern) for rule in self.rules for pattern in rule.patterns
        ]
        # Rules often share a pattern (`fn $F(..) { .. }`, `unsafe impl …`): each distinct
        # candidate query runs once, and its candidates go to every rule that uses it, so the
        # cost grows with distinct patterns, not with rules.
        self._queries: list[str] = []
        self._users: list[list[tuple[CompiledRule, Pattern]]] = []
        position: dict[str, int] = {}
        for rule, pattern in self._entries:
            index = position.get(pattern.query)
            if index is None:
                index = position[pattern.query] = len(self._queries)
                self._queries.append(pattern.query)
                self._users.append([])
            self._users[index].append((rule, pattern))
        # Each rule's gates: sets of query indices of which the unit must hold at least one
        # match, or no candidate of the rule there can pass its conditions.
        self._gates: dict[str, tuple[frozenset[int], ...]] = {}
        for rule in self.rules:
            gates = []
            for alternatives in required_relations(rule):
                indices = set()
                for pattern in alternatives:
                    index = position.get(pattern.query)
                    if index is None:
                        index = position[pattern.query] = len(self._queries)
                        self._queries.append(pattern.query)
                        self._users.append([])
                    indices.add(index)
                gates.append(frozenset(indices))
            self._gates[rule.id] = tuple(gates)
        # The macro regions are found in the same pass over the tree (one traversal per file).
        self._region_index = len(self._queries)
        self._queries.extend(REGION_PATTERNS)
        self._users.extend([] for _ in REGION_PATTERNS)

    @cached_property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules)

    @cached_property
    def query(self) -> Query:
        source = "\n".join(self._queries)
        return Query(rust_language(), source)

    def wanted(self, data: bytes) -> set[str]:
        """Ids of the rules whose literal prefilter the file passes."""
        return {rule.id for rule in self.rules if rule.may_match(data)}

    def run(self, unit: ParsedFile, crate: CrateIndex, wanted: set[str]) -> list[Finding]:
        """Findings of the wanted rules in one file (its code and its macro bodies and
        arguments, read as Rust), one per (rule, primary location)."""
        if not wanted or not self._entries:
            return []
        findings: dict[tuple[str, int, int], Finding] = {}
        regions = self._collect(unit, crate, wanted, findings)
        rules = [rule for rule in self.rules if rule.id in wanted]
        accepts = lambda text: any(r.may_match_region(text) for r in rules)  # noqa: E731
        for derived in macro_units(unit, regions, accepts):
            self._collect(derived, crate, wanted, findings)
        return sorted(findings.values(), key=Finding.sort_key)

    def _collect(
        self,
        unit: ParsedFile,
        crate: CrateIndex,
        wanted: set[str],
        findings: dict[tuple[str, int, int], Finding],
    ) -> list[tuple[str, Node]]:
        """Add the unit's findings; return its macro regions (name, token tree)."""
        cursor = QueryCursor(self.query)
        matches = cursor.matches(unit.tree.root_node)
        present = {index for index, _ in matches}
        regions = [
            (name, node)
            for index, captures in matches
            if index >= self._region_index
            for name, nodes in captures.items()
            for node in nodes
        ]
        wanted = {
            rule_id
            for rule_id in wanted
            if all(gate & present for gate in self._gates.get(rule_id, ()))
        }
        for index, captures in matches:
            for rule, pattern in self._users[index]:
                if rule.id not in wanted:
                    continue
                context = MatchContext(rule, crate)
                for root in captures.get("root", []):
                    finding = _first_finding(root, unit, pattern, context)
                    if finding is None:
                        continue
                    span = finding.primary.span
                    key = (rule.id, span.start_byte, span.end_byte)
                    findings.setdefault(key, finding)
        return regions


def _first_finding(
    root: object, unit: ParsedFile, pattern: Pattern, context: MatchContext
) -> Finding | None:
    assert isinstance(root, Node)
    for env in match_pattern(pattern, root):
        initial: Bindings = {
            name: Bound(
                unit, value if isinstance(value, tuple) else (value,), isinstance(value, tuple)
            )
            for name, value in env.items()
        }
        initial[MATCH_VAR] = Bound(unit, (root,))
        bindings = all_hold(context.rule.ast.conditions, initial, context)
        if bindings is not None:
            finding = build_finding(root, unit, bindings, context)
            if finding is not None:
                return finding
    return None
