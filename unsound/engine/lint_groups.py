"""The groups a lint belongs to, so that `allow(clippy::style)` counts as allowing its lints.

Clippy sorts every lint into one category (`clippy::style`, `clippy::pedantic`, …); `clippy::all`
holds the five categories on by default. `clippy_lints.txt` lists each category's lints, as
`clippy-driver -W help` printed them for clippy 0.1.95 (names with `_`). A lint it does not list
(a newer Clippy's, or a rustc lint) belongs to no group here: only its own name turns it off.
rustc's own groups (`unused`, `warnings`) are not read.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

# Clippy's categories that make up `clippy::all` (the others are opt-in).
_IN_ALL = frozenset({"correctness", "suspicious", "style", "complexity", "perf"})


def groups_of(lint: str) -> tuple[str, ...]:
    """`clippy::missing_safety_doc` → (`clippy::style`, `clippy::all`); a category gives
    `clippy::all` when it is one of the default five."""
    tool, _, name = "".join(lint.split()).replace("-", "_").rpartition("::")
    if tool != "clippy":
        return ()
    if name in _categories():
        return ("clippy::all",) if name in _IN_ALL else ()
    category = _category_of().get(name)
    if category is None:
        return ()
    group = f"clippy::{category}"
    return (group, "clippy::all") if category in _IN_ALL else (group,)


@cache
def _categories() -> frozenset[str]:
    return frozenset(_category_of().values())


@cache
def _category_of() -> dict[str, str]:
    text = files("unsound.engine").joinpath("clippy_lints.txt").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    category = ""
    for line in text.splitlines():
        if line.startswith("["):
            category = line.strip("[]")
        else:
            found.update((name, category) for name in line.split())
    return found
