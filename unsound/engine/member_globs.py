"""`workspace.members` globs, expanded as Cargo's `glob` crate does (not as Python's glob does).

The differences matter for which packages are members: the glob crate lets `*` match a leading dot
(Python's does not), has no backslash escapes (a metacharacter is matched with brackets, `[*]`),
negates classes with `[!…]`, and treats `**` as "this folder and every folder below", allowed only
as a whole path component. Results come back sorted per folder, as the crate returns them.
"""

from __future__ import annotations

import re
from pathlib import Path

from unsound.engine import fs_probe

_META = frozenset("*?[")


class GlobError(ValueError):
    """A pattern the glob crate rejects (Cargo reports "could not parse pattern")."""


def is_glob(pattern: str) -> bool:
    """Whether the pattern has any wildcard, i.e. is not a plain path."""
    return any(char in _META for char in pattern)


def expand(root: Path, pattern: str) -> list[Path]:
    """Every existing path under `root` that `pattern` (relative to `root`) matches.

    Literal components must exist; the result may contain files, which Cargo then drops.
    """
    components = [part for part in pattern.split("/") if part != ""]
    start = Path("/") if pattern.startswith("/") else root
    matchers = [_compile(component) for component in components]
    paths = [start]
    for component, matcher in zip(components, matchers, strict=True):
        paths = _step(paths, component, matcher)
    return paths


def _step(paths: list[Path], component: str, matcher: re.Pattern[str] | None) -> list[Path]:
    """Apply one pattern component to every path matched so far."""
    out: list[Path] = []
    for base in paths:
        if component == "**":
            out.extend(_recursive_folders(base))
        elif matcher is None:
            candidate = base / component
            if fs_probe.lexists(candidate):
                out.append(candidate)
        elif fs_probe.is_dir(base):
            names = sorted(_entries(base))
            out.extend(base / name for name in names if matcher.fullmatch(name))
    return out


def _entries(folder: Path) -> list[str]:
    return [name for name, _ in fs_probe.entries(folder)]


def _recursive_folders(base: Path) -> list[Path]:
    """`base` and every folder below it, each real folder once (symlink loops end)."""
    if not fs_probe.is_dir(base):
        return []
    out: list[Path] = []
    seen: set[str] = set()
    stack = [base]
    while stack:
        folder = stack.pop()
        real = fs_probe.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        out.append(folder)
        children = [folder / name for name in sorted(_entries(folder))]
        stack.extend(child for child in reversed(children) if fs_probe.is_dir(child))
    return out


def _compile(component: str) -> re.Pattern[str] | None:
    """A regex for one path component, or None when it is literal (no wildcard)."""
    if component == "**":
        return None
    if "**" in component:
        raise GlobError("recursive wildcards must form a single path component")
    if not is_glob(component):
        return None
    regex = ""
    index = 0
    while index < len(component):
        char = component[index]
        if char == "*":
            regex += ".*"
        elif char == "?":
            regex += "."
        elif char == "[":
            text, index = _char_class(component, index)
            regex += text
            continue
        else:
            regex += re.escape(char)
        index += 1
    try:
        return re.compile(regex, re.DOTALL)
    except re.error as error:  # `[z-a]`: the glob crate rejects a reversed range too
        raise GlobError("invalid range pattern") from error


def _char_class(component: str, start: int) -> tuple[str, int]:
    """Translate `[…]` / `[!…]` at `start`; returns the regex and the index after `]`."""
    index = start + 1
    negated = component.startswith("!", index)
    if negated:
        index += 1
    items = ""
    first = True
    while index < len(component) and (first or component[index] != "]"):
        char = component[index]
        if component.startswith("-", index + 1) and index + 2 < len(component):
            end = component[index + 2]
            if end != "]":
                items += f"{re.escape(char)}-{re.escape(end)}"
                index += 3
                first = False
                continue
        items += re.escape(char)
        index += 1
        first = False
    if index >= len(component):
        raise GlobError("invalid range pattern")
    return f"[{'^' if negated else ''}{items}]", index + 1
