"""Which rules run: built-in packs plus `--rules`, filtered by `--select` / `--ignore`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import load_rules
from unsound.errors import UsageError


def select_rules(
    extra: Sequence[Path], select: Sequence[str], ignore: Sequence[str]
) -> list[CompiledRule]:
    """Rules enabled by default (or named by --select), minus --ignore; ids or tags both work."""
    rules = load_rules(extra)
    known = {r.id for r in rules} | {t for r in rules for t in r.info.tags}
    for name in (*select, *ignore):
        if name not in known:
            raise UsageError(
                f"unknown rule id or tag `{name}`",
                hint="see `cargo unsound rules list` for ids and tags",
            )
    chosen = [
        r
        for r in rules
        if (_named(r, select) if select else r.info.enabled_by_default) and not _named(r, ignore)
    ]
    return chosen


def _named(rule: CompiledRule, names: Sequence[str]) -> bool:
    return rule.id in names or any(tag in names for tag in rule.info.tags)
