"""Runs a rule's inline examples as tests (Semgrep's `// ruleid:` convention).

In an `example bad`, every line that must be reported carries `// ruleid: RULE-ID`; the set of
(rule, line) found must equal the set marked. An `example good` must produce nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.units import ParsedFile
from unsound.model import Finding

_MARKER = re.compile(r"//\s*ruleid:\s*([a-z0-9-]+)")


def describe_difference(
    expected: frozenset[tuple[str, int]], found: frozenset[tuple[str, int]], where: str
) -> str:
    """`not found: …; unexpected: …` between marked and reported (rule, line) pairs."""
    parts = []
    missing = sorted(expected - found)
    extra = sorted(found - expected)
    if missing:
        parts.append("not found: " + ", ".join(f"{r} at {where} {n}" for r, n in missing))
    if extra:
        parts.append("unexpected: " + ", ".join(f"{r} at {where} {n}" for r, n in extra))
    return "; ".join(parts) or "ok"


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    kind: str  # "bad" | "good"
    path: str  # the rule file
    line: int  # where the example starts in the rule file
    expected: frozenset[tuple[str, int]]  # (rule id, line within the example)
    found: frozenset[tuple[str, int]]

    @property
    def passed(self) -> bool:
        return self.expected == self.found

    def describe(self) -> str:
        return describe_difference(self.expected, self.found, "example line")


def scan_snippet(
    rules: Sequence[CompiledRule], code: str, path: str = "example.rs"
) -> list[Finding]:
    """Findings of the rules in one piece of Rust code, as if it were a crate of its own."""
    data = code.encode("utf-8")
    unit = ParsedFile(rel_path=path, crate="example", data=data, tree=parse_rust(data))
    matcher = RuleSetMatcher(rules)
    return matcher.run(unit, CrateIndex(lambda: [unit]), matcher.wanted(data))


def expected_markers(code: str) -> frozenset[tuple[str, int]]:
    found = set()
    for number, line in enumerate(code.split("\n"), start=1):
        for match in _MARKER.finditer(line):
            found.add((match.group(1), number))
    return frozenset(found)


def run_examples(rule: CompiledRule) -> list[ExampleResult]:
    results = []
    for example in rule.ast.examples:
        code = example.code.code
        findings = scan_snippet([rule], code)
        found = frozenset((f.rule_id, f.primary.span.start_line) for f in findings)
        expected = expected_markers(code) if example.kind == "bad" else frozenset()
        results.append(
            ExampleResult(
                rule_id=rule.id,
                kind=example.kind,
                path=example.code.span.path,
                line=example.code.span.line,
                expected=expected,
                found=found,
            )
        )
    return results


@dataclass(frozen=True)
class SnippetResult:
    """A test file next to a rule file: every `// ruleid:` line found, and nothing else."""

    path: str
    expected: frozenset[tuple[str, int]]
    found: frozenset[tuple[str, int]]

    @property
    def passed(self) -> bool:
        return self.expected == self.found

    def describe(self) -> str:
        return describe_difference(self.expected, self.found, "line")


def run_snippet_file(rules: Sequence[CompiledRule], path: str, code: str) -> SnippetResult:
    """Scan one test file with the rules of its rule file; markers of other rules are ignored."""
    ids = {rule.id for rule in rules}
    found = frozenset(
        (f.rule_id, f.primary.span.start_line) for f in scan_snippet(rules, code, path)
    )
    expected = frozenset(m for m in expected_markers(code) if m[0] in ids)
    return SnippetResult(path, expected, found)
