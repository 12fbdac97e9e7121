"""The candidate gates: for rules that need their match inside an impl of a type implementing a
trait (`raw-handle-escapes-drop-owner`), candidates elsewhere are not matched at all; for rules
located by `static mut`s, candidates that spell none of the crate's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_scan_support import scan_folder
from tree_sitter import Node

from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.dsl.rule_facts import required_enclosing_impl
from unsound.dsl.rust_parser import parse_rust
from unsound.engine import matcher
from unsound.engine.matcher import _may_be_in_impl_of

CODE = b"""
impl Owner { fn a(&self) -> u8 { 0 } }
impl Other { fn b(&self) -> u8 { 0 } }
impl<T> Owner2<T> { fn c(&self) -> u8 { fn inner() {} 0 } }
impl Other { fn d(&self) -> u8 { struct L; impl L { fn e(&self) {} } 0 } }
impl Outer { fn f(&self) { impl Owner { fn g(&self) {} } } }
"""


def functions() -> dict[str, Node]:
    tree = parse_rust(CODE)
    found: dict[str, Node] = {}
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_item":
            name = node.child_by_field_name("name")
            assert name is not None and name.text is not None
            found[name.text.decode()] = node
        stack.extend(node.children)
    return found


def test_only_candidates_that_may_lie_in_an_impl_of_the_names_are_kept() -> None:
    names = frozenset({"Owner", "Owner2"})
    kept = {name for name, node in functions().items() if _may_be_in_impl_of(node, names)}
    # a: Owner's; c: Owner2<T>'s, and `inner` in its body; d: an impl inside it; g: inside an
    # Owner impl, itself inside Outer's method (any enclosing impl counts); f: holds that impl.
    # Not b (Other's), nor e (L's, inside Other's method).
    assert kept == {"a", "c", "inner", "d", "f", "g"}


def test_the_gate_applies_only_to_a_required_inside_impl_and_implements() -> None:
    rules = {rule.id: rule for rule in load_rules()}
    assert required_enclosing_impl(rules["raw-handle-escapes-drop-owner"]) == "Drop"
    assert required_enclosing_impl(rules["raw-pointer-escapes-lifetime"]) is None
    text = """rule negated {
  title "t"
  severity note
  help "h"
  match `fn $F(&self) -> $R { $..B }`
  where not ($F inside `impl<$..G> $S { $..I }` and $S implements "Drop")
  message "m"
  location $F
  example bad ```
struct A;
impl A { fn f(&self) -> u8 { 0 } } // ruleid: negated
```
  example good ```
fn g() {}
```
}
"""
    (negated,) = compile_rule_files([("user", "negated.rules", text)])
    assert required_enclosing_impl(negated) is None


# A crate with one `static mut`, and references to other things in the items that name it.
STATICS = b"""static mut COUNTER: u32 = 0;
static PLAIN: u32 = 0;

pub fn bump(local: &mut u32) -> u32 {
    let other = 1;
    let a = &other;
    let b = &mut *local;
    let c = &PLAIN;
    unsafe {
        COUNTER += *a + *b + *c;
        let seen = &COUNTER;
        *seen
    }
}
"""


def test_a_rule_located_by_static_muts_matches_only_candidates_that_spell_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`static-mut-reference` matches every reference in an item that names a `static mut`;
    only those that spell one of the crate's are matched (the rest cannot bind `$X` to it)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "statics"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (tmp_path / "src" / "lib.rs").write_bytes(STATICS)
    matched: list[bytes] = []
    real = matcher._first_finding

    def first_finding(root: Node, *args: Any) -> object:
        matched.append(root.text or b"")
        return real(root, *args)

    monkeypatch.setattr(matcher, "_first_finding", first_finding)
    rules = [rule for rule in load_rules() if rule.id == "static-mut-reference"]
    report = scan_folder(tmp_path, rules=rules)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in report.findings
    ] == [("static-mut-reference", 11, 20)]
    assert matched == [b"&COUNTER"]
