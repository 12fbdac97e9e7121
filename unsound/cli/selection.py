"""Which rules run: built-in packs plus `--rules`, filtered by `--select` / `--ignore`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from unsound.dsl.loader import load_rules
from unsound.errors import UsageError
from unsound.model import Report, Severity

if TYPE_CHECKING:
    from unsound.dsl.compiled import CompiledRule


def select_rules(
    extra: Sequence[Path], select: Sequence[str], ignore: Sequence[str], *, cache: bool = False
) -> list[CompiledRule]:
    """Rules enabled by default (or named by --select), minus --ignore; ids or tags both work.
    `cache`: use the compiled-rules cache (`load_rules`)."""
    rules = load_rules(extra, cache=cache)
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


def known_names(*, cache: bool = False) -> set[str]:
    """Ids and tags of the built-in rules, which configuration files may name."""
    rules = load_rules(cache=cache)
    return {r.id for r in rules} | {t for r in rules for t in r.info.tags}


def apply_severity_overrides(report: Report, overrides: Mapping[str, Severity]) -> Report:
    """The configuration's severities replace the rules' (findings and rule metadata alike)."""
    if not overrides:
        return report
    findings = tuple(
        dataclasses.replace(f, severity=overrides[f.rule_id]) if f.rule_id in overrides else f
        for f in report.findings
    )
    rules = tuple(
        dataclasses.replace(r, severity=overrides[r.id]) if r.id in overrides else r
        for r in report.rules
    )
    return dataclasses.replace(report, findings=findings, rules=rules)
