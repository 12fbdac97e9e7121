"""Baselines: accept today's findings once, then report only new ones.

A baseline file lists the current findings by their `cargoUnsound/v1` fingerprint (rule id, item
path and matched code without whitespace), which survives edits above the code, moves and
rustfmt, unlike line numbers or GitHub's line hash. Matching counts fingerprints as a multiset:
if the baseline holds one finding with a fingerprint and the scan now has two, one is new.

The file is versioned JSON (`unsound/schemas/baseline.schema.json`); it also keeps each finding's
rule, path, line and message, for humans reviewing a baseline change, but matching uses only the
rule and the fingerprint. A baseline is configuration that hides findings: the CLI says how many
it hid, in the summary and in the SARIF run's properties.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unsound.errors import ConfigError
from unsound.fingerprints import STABLE_KEY
from unsound.model import Finding

BASELINE_VERSION = 1
DEFAULT_BASELINE = "unsound-baseline.json"
_TOOL_NAME = "cargo-unsound"

Key = tuple[str, str]  # (rule id, stable fingerprint)


@dataclass(frozen=True)
class Baseline:
    """The accepted findings, as a multiset of (rule id, fingerprint)."""

    path: str
    entries: Counter[Key]


def render_baseline(findings: Sequence[Finding], tool_version: str) -> str:
    """The baseline file for these findings: deterministic JSON, sorted, trailing newline."""
    rows = sorted(
        (
            {
                "rule": finding.rule_id,
                "fingerprint": finding.fingerprints.get(STABLE_KEY, ""),
                "path": finding.primary.path,
                "line": finding.primary.span.start_line,
                "message": finding.message,
            }
            for finding in findings
            if finding.fingerprints.get(STABLE_KEY)
        ),
        key=lambda row: (row["path"], row["line"], row["rule"], row["fingerprint"]),
    )
    document = {
        "version": BASELINE_VERSION,
        "tool": {"name": _TOOL_NAME, "version": tool_version},
        "fingerprint": STABLE_KEY,
        "findings": rows,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; a missing, unreadable or foreign file is a `ConfigError` (exit 2).

    An unknown version is refused rather than half-read: silently matching nothing would bring
    every accepted finding back, and matching wrongly would hide new ones.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(
            "baseline file not found",
            path=path,
            hint="create it with `cargo unsound baseline --output FILE`",
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the baseline file: {error}", path=path) from error
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"the baseline file is not JSON: {error.msg}",
            path=path,
            line=error.lineno,
            column=error.colno,
            hint="regenerate it with `cargo unsound baseline`",
        ) from error
    return Baseline(str(path), _entries(document, path))


def _entries(document: Any, path: Path) -> Counter[Key]:
    if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
        raise ConfigError(
            f"not a cargo-unsound baseline of version {BASELINE_VERSION}",
            path=path,
            hint="regenerate it with `cargo unsound baseline`",
        )
    if document.get("fingerprint", STABLE_KEY) != STABLE_KEY:
        raise ConfigError(
            f"the baseline uses fingerprint `{document.get('fingerprint')}`, not `{STABLE_KEY}`",
            path=path,
            hint="regenerate it with this version of cargo-unsound",
        )
    rows = document.get("findings")
    if not isinstance(rows, list):
        raise ConfigError("the baseline has no `findings` list", path=path)
    entries: Counter[Key] = Counter()
    for number, row in enumerate(rows):
        if not (
            isinstance(row, dict)
            and isinstance(row.get("rule"), str)
            and isinstance(row.get("fingerprint"), str)
        ):
            raise ConfigError(
                f"baseline entry {number} needs string `rule` and `fingerprint` fields", path=path
            )
        entries[(row["rule"], row["fingerprint"])] += 1
    return entries


def filter_new(findings: Sequence[Finding], baseline: Baseline) -> tuple[list[Finding], int]:
    """The findings the baseline does not account for, in their order, and how many it did.

    Where a fingerprint occurs more often than the baseline allows, the first occurrences (in the
    order given, normally file order) are taken as the old ones and the rest reported as new.
    """
    remaining = Counter(baseline.entries)
    new: list[Finding] = []
    for finding in findings:
        key = (finding.rule_id, finding.fingerprints.get(STABLE_KEY, ""))
        if key[1] and remaining[key] > 0:
            remaining[key] -= 1
        else:
            new.append(finding)
    return new, len(findings) - len(new)
