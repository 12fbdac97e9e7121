"""A macro call's arguments are read as Rust only for the rules that may match in the item
holding the call (`RuleItems`): a region in another item is not parsed, as any candidate in it
would be turned away."""

from __future__ import annotations

import pytest

from unsound.dsl.loader import compile_rule_files
from unsound.dsl.rust_parser import parse_rust
from unsound.engine import macros
from unsound.engine.crate_index import CrateIndex
from unsound.engine.item_ranges import ItemCuts, RuleItems
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.units import ParsedFile

RULE = '''rule reads-in-macro {
  title "read"
  severity warning
  match `$Q::read($..A)`
  message "read"
  location $MATCH "here"
  example bad `fn f(p: *const u8) -> u8 { unsafe { std::ptr::read(p) } } // ruleid: reads-in-macro`
  example good `fn f(p: u8) -> u8 { p }`
  help """
  ## What it does
  x
  """
}
'''

CODE = b"""unsafe fn first(p: *const u8) {
    log!(std::ptr::read(p));
}

unsafe fn second(p: *const u8) {
    log!(std::ptr::read(p));
}
"""


def test_a_region_outside_the_rules_items_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real = macros._parse_region

    def parse_region(unit: ParsedFile, data: bytes, start: int, end: int) -> object:
        parsed.append(start)
        return real(unit, data, start, end)

    monkeypatch.setattr(macros, "_parse_region", parse_region)
    rules = compile_rule_files([("demo", "demo.rules", RULE)])
    unit = ParsedFile("src/lib.rs", "demo", CODE, parse_rust(CODE))
    crate = CrateIndex(lambda: [unit], [(CODE, lambda: unit)])
    cuts = ItemCuts(CODE)
    assert len(cuts.starts) == 2
    matcher = RuleSetMatcher(rules)
    # Only the second function is an item the rule may match in.
    items = RuleItems(cuts.starts, {"reads-in-macro": {1}})
    findings = matcher.run(unit, crate, {"reads-in-macro"}, items=items)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("reads-in-macro", 6, 10)]
    assert parsed == [CODE.index(b"(std", CODE.index(b"fn second"))]
    # Both items allowed: both regions are read.
    parsed.clear()
    both = RuleItems(cuts.starts, {"reads-in-macro": {0, 1}})
    findings = matcher.run(unit, crate, {"reads-in-macro"}, items=both)
    assert [(f.primary.span.start_line, f.primary.span.start_column) for f in findings] == [
        (2, 10),
        (6, 10),
    ]
    assert len(parsed) == 2
