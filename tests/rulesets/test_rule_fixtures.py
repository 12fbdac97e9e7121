"""The rule fixtures under tests/fixtures/rust: each `// ruleid:` line found, nothing else.

The fixtures are real crates (`cargo check` passes on them) with more variants than the inline
examples: every variant and every "not a bug" shape we know of.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound.dsl.loader import load_rules
from unsound.engine.examples import expected_markers, scan_snippet

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rust"
FILES = sorted(FIXTURES.glob("*/src/**/*.rs"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_findings_equal_markers(path: Path) -> None:
    code = path.read_text(encoding="utf-8")
    expected = expected_markers(code)
    # What a default scan runs, plus the fixture's own (possibly off-by-default) rules.
    marked = {rule_id for rule_id, _ in expected}
    rules = [r for r in load_rules() if r.info.enabled_by_default or r.id in marked]
    found = {(f.rule_id, f.primary.span.start_line) for f in scan_snippet(rules, code)}
    assert expected, "a fixture must mark at least one finding"
    assert found == expected


def test_fixtures_exist() -> None:
    assert len(FILES) >= 2
