"""Key positions in TOML text, the basis of `Cargo.toml:LINE:COL` for semantic errors."""

from __future__ import annotations

from unsound.engine.toml_positions import key_positions, locate

TEXT = """\
# members = ["not", "a", "key"]
[workspace]
members = [
    "a",   # a comment with = and [brackets]
    'b',
]
exclude = ["x"]
package.edition = "2021"
dependencies = { shared = { path = "libs/shared" } }

[[bin]]
name = "one"

[[bin]]
name = "two"
path = "src/two.rs"

[package]
description = \"\"\"
[not.a.table]
key = "value"
\"\"\"
"quoted key" = 1
"""


def test_tables_keys_and_array_elements() -> None:
    found = key_positions(TEXT)
    assert found[("workspace",)] == (2, 1)
    assert found[("workspace", "members")] == (3, 1)
    assert found[("workspace", "members", 0)] == (4, 5)
    assert found[("workspace", "members", 1)] == (5, 5)
    assert found[("workspace", "exclude", 0)] == (7, 12)
    assert found[("workspace", "package", "edition")] == (8, 9)


def test_inline_tables() -> None:
    found = key_positions(TEXT)
    assert found[("workspace", "dependencies", "shared", "path")] == (9, 29)


def test_arrays_of_tables_are_indexed() -> None:
    found = key_positions(TEXT)
    assert found[("bin",)] == (11, 1)
    assert found[("bin", 0, "name")] == (12, 1)
    assert found[("bin", 1)] == (14, 1)
    assert found[("bin", 1, "path")] == (16, 1)


def test_multiline_strings_hide_their_content() -> None:
    found = key_positions(TEXT)
    assert ("not", "a", "table") not in found
    assert ("package", "key") not in found
    assert found[("package", "quoted key")] == (23, 1)


def test_locate_falls_back_to_the_nearest_written_parent() -> None:
    found = key_positions(TEXT)
    assert locate(found, ("workspace", "members", 7)) == (3, 1)
    assert locate(found, ("lib", "path")) == (1, 1)
