"""The lint levels a package's Cargo.toml sets, as Cargo hands them to rustc and Clippy.

`[lints.clippy] missing_safety_doc = "allow"` (or `[workspace.lints]`, taken with `[lints]
workspace = true`) turns a lint off for the whole package, as `#![allow(…)]` in its crate
roots would. Cargo passes the entries as command-line flags ordered by `priority` (lowest
first), so a later flag wins: wasmtime allows `clippy::all` at priority -1 and
warns about a few lints at 0. A lint's level here is the last entry that names it or one of its
groups (`clippy::style`, `clippy::all` for `missing_safety_doc`). Attributes in the source
(`lint_levels`) are read on top of this: only their `allow`/`expect`, as before.

A malformed `[lints]` is an error Cargo reports too (a level that is not one of Cargo's four, a
priority that is not an integer); it is reported here at its key, so no workspace Cargo accepts
is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unsound.engine.lint_groups import groups_of

if TYPE_CHECKING:  # workers read the levels, never a manifest
    from unsound.engine.manifest import Manifest

_LEVELS = ("forbid", "deny", "warn", "allow")
_LEVEL_HINT = 'write a level (`"allow"`, `"warn"`, `"deny"` or `"forbid"`) or `{ level = "…" }`'


@dataclass(frozen=True)
class LintLevels:
    """A package's `[lints]` as (lint, level) pairs in the order Cargo passes them."""

    entries: tuple[tuple[str, str], ...] = ()

    def level(self, lint: str) -> str | None:
        """The level the manifest gives `lint` (`clippy::missing_safety_doc`), or None."""
        names = {normal_lint(lint), *groups_of(lint)}
        found = None
        for name, level in self.entries:
            if name in names:
                found = level
        return found

    def allows(self, lint: str) -> bool:
        return self.level(lint) == "allow"


NO_LINT_LEVELS = LintLevels()


def normal_lint(lint: str) -> str:
    """`clippy::missing-safety-doc` → `clippy::missing_safety_doc` (rustc reads `-` as `_`)."""
    return "".join(lint.split()).replace("-", "_")


def package_lint_levels(manifest: Manifest, root: Manifest | None) -> LintLevels:
    """The package's `[lints]`, or its workspace's `[workspace.lints]` with `workspace = true`."""
    hint = "write `[lints]` as tables of lints per tool (`[lints.clippy]`), or `workspace = true`"
    table = manifest.table(("lints",), hint=hint)
    if table is None:
        return NO_LINT_LEVELS
    if table.get("workspace") is True:
        if root is None or root.get(("workspace", "lints")) is None:
            # Cargo refuses this; without the table there is nothing to read.
            return NO_LINT_LEVELS
        return _levels(root, ("workspace", "lints"))
    return _levels(manifest, ("lints",))


def _levels(manifest: Manifest, key: tuple[str, ...]) -> LintLevels:
    table = manifest.table(key, hint="write the lints as tables per tool (`[lints.clippy]`)")
    ranked: list[tuple[int, str, str, str]] = []
    for tool, lints in (table or {}).items():
        if tool == "workspace":
            continue
        tool_key = (*key, tool)
        if not isinstance(lints, Mapping):
            raise manifest.error(
                f"`{'.'.join(tool_key)}` must be a table of lints",
                tool_key,
                'write one lint per line, e.g. `missing_safety_doc = "allow"`',
            )
        for name, value in lints.items():
            level, priority = _entry(manifest, (*tool_key, name), value)
            lint = name if tool == "rust" else f"{tool}::{name}"
            ranked.append((priority, name, normal_lint(lint), level))
    # Cargo's order (checked with `cargo check -v`, cargo 1.95): priority ascending, then the
    # lint's name as written, without its tool, descending.
    ranked.sort(key=lambda entry: entry[1], reverse=True)
    ranked.sort(key=lambda entry: entry[0])
    return LintLevels(tuple((lint, level) for _, _, lint, level in ranked))


def _entry(manifest: Manifest, key: tuple[str, ...], value: object) -> tuple[str, int]:
    """(level, priority) of one lint's value: `"allow"` or `{ level = "allow", priority = -1 }`."""
    priority: object = 0
    if isinstance(value, Mapping):
        priority = value.get("priority", 0)
        value = value.get("level")
    if value not in _LEVELS:
        raise manifest.error(f"`{'.'.join(key)}` is not a lint level", key, _LEVEL_HINT)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise manifest.error(
            f"`{'.'.join(key)}.priority` must be an integer", key, "write e.g. `priority = -1`"
        )
    return str(value), priority
