"""How the crate index resolves a type named without its path (FP shape R4: tokio's
`Arc<Inner>` was read as another module's `Inner<'a, T>`)."""

from __future__ import annotations

import pytest

from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex, file_module_path, resolve_visible
from unsound.engine.units import ParsedFile


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("tokio/src/runtime/park.rs", ("runtime", "park")),
        ("src/lib.rs", ()),
        ("crates/x/src/sync/mod.rs", ("sync",)),
        ("src/bin/main.rs", ("bin",)),
        ("tests/common.rs", ()),
    ],
)
def test_file_module_path(rel_path: str, expected: tuple[str, ...]) -> None:
    assert file_module_path(rel_path) == expected


def _unit(rel_path: str, code: str) -> ParsedFile:
    data = code.encode()
    return ParsedFile(rel_path, "demo", data, parse_rust(data))


def _return_type(unit: ParsedFile, function: str):  # type: ignore[no-untyped-def]
    stack = [unit.tree.root_node]
    while stack:
        node = stack.pop()
        name = node.child_by_field_name("name")
        if node.type == "function_item" and name is not None and name.text == function.encode():
            return node.child_by_field_name("return_type")
        stack.extend(node.named_children)
    raise AssertionError(function)


GUARD = "pub struct Inner<'a, T> { pub value: &'a T }\n"
PARK = "pub struct Inner { pub n: usize }\npub fn own() -> Inner { Inner { n: 0 } }\n"
USER = (
    "use crate::sync::guard::Inner;\n"
    "pub fn imported(v: &u8) -> Inner<u8> { Inner { value: v } }\n"
    "mod nested { use super::super::park::Inner; pub fn relative() -> Inner { todo!() } }\n"
)
LONE = "pub fn other() -> Box<Inner> { todo!() }\n"


@pytest.fixture()
def units() -> dict[str, ParsedFile]:
    return {
        "guard": _unit("src/sync/guard.rs", GUARD),
        "park": _unit("src/runtime/park.rs", PARK),
        "user": _unit("src/runtime/user.rs", USER),
        "lone": _unit("src/lone.rs", LONE),
    }


def _visible(units: dict[str, ParsedFile], file: str, function: str) -> list[str]:
    index = CrateIndex(lambda: list(units.values()))
    found = index.definitions("Inner")
    return [
        d.unit.rel_path
        for d in resolve_visible(found, units[file], _return_type(units[file], function))
    ]


def test_same_module_wins(units: dict[str, ParsedFile]) -> None:
    assert _visible(units, "park", "own") == ["src/runtime/park.rs"]


def test_crate_path_import(units: dict[str, ParsedFile]) -> None:
    assert _visible(units, "user", "imported") == ["src/sync/guard.rs"]


def test_super_path_import_inside_inline_module(units: dict[str, ParsedFile]) -> None:
    assert _visible(units, "user", "relative") == ["src/runtime/park.rs"]


def test_unresolved_name_stays_ambiguous(units: dict[str, ParsedFile]) -> None:
    assert sorted(_visible(units, "lone", "other")) == ["src/runtime/park.rs", "src/sync/guard.rs"]
