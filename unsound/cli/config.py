"""Workspace configuration: `unsound.toml`, or `[workspace.metadata.unsound]` /
`[package.metadata.unsound]` in the root Cargo.toml.

Keys: `rules` (extra rule files or folders, relative to the file, which must stay inside the
workspace: the scanned tree is untrusted), `select` and `ignore` (rule ids or tags), `severity`
(a table from rule id to `error`/`warning`/`note`). Precedence, highest first: command-line flags,
`unsound.toml`, `[workspace.metadata.unsound]`, `[package.metadata.unsound]` (only the first file
that has a configuration is read; `--select` replaces `select`, `--ignore` adds to `ignore`).
Whatever the configuration disables or downgrades is listed in the summary and the SARIF run,
so a reviewer sees it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unsound.engine.manifest import Manifest, read_manifest
from unsound.engine.toml_positions import KeyPath
from unsound.model import Severity

KNOWN_KEYS = ("rules", "select", "ignore", "severity")
_HINT = "see the Configuration section of the README"


@dataclass(frozen=True)
class Config:
    """The workspace's configuration; `source` is the file it came from (None: none found)."""

    source: str | None = None
    rule_paths: tuple[Path, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """What a reviewer must see: every rule this configuration turns off or downgrades."""
        if self.source is None:
            return []
        out = []
        if self.select:
            out.append(f"{self.source} selects only: {', '.join(self.select)}")
        if self.ignore:
            out.append(f"{self.source} ignores: {', '.join(self.ignore)}")
        for rule_id, level in sorted(self.severity.items()):
            out.append(f"{self.source} sets the severity of {rule_id} to {level.value}")
        if self.rule_paths:
            out.append(f"{self.source} adds rules from: {', '.join(map(str, self.rule_paths))}")
        return out


def load_config(workspace_root: Path, known: set[str] | None = None) -> Config:
    """The first configuration found at the workspace root, checked and located on error.

    `known` holds the rule ids and tags that exist (built-in rules); names outside it are errors,
    unless the configuration adds rule files of its own (their ids are checked later).
    """
    root = workspace_root.resolve()
    standalone = root / "unsound.toml"
    if standalone.is_file():
        manifest = read_manifest(standalone)
        return _checked(_parse(manifest, (), root, "unsound.toml"), manifest, (), known)
    cargo = root / "Cargo.toml"
    if not cargo.is_file():
        return Config()
    manifest = read_manifest(cargo)
    for prefix in (("workspace", "metadata", "unsound"), ("package", "metadata", "unsound")):
        if manifest.get(prefix) is not None:
            label = "Cargo.toml [" + ".".join(prefix) + "]"
            return _checked(_parse(manifest, prefix, root, label), manifest, prefix, known)
    return Config()


def _checked(config: Config, manifest: Manifest, prefix: KeyPath, known: set[str] | None) -> Config:
    if known is None or config.rule_paths:
        return config
    for key, names in (("select", config.select), ("ignore", config.ignore)):
        for index, name in enumerate(names):
            if name not in known:
                raise _unknown(manifest, (*prefix, key, index), name, known)
    for name in config.severity:
        if name not in known:
            raise _unknown(manifest, (*prefix, "severity", name), name, known)
    return config


def _unknown(manifest: Manifest, key: KeyPath, name: str, known: set[str]) -> Exception:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean `{close[0]}`?" if close else "see `cargo unsound rules list`"
    return manifest.error(f"unknown rule id or tag `{name}`", key, hint)


def _parse(manifest: Manifest, prefix: KeyPath, root: Path, label: str) -> Config:
    table = manifest.table(prefix, hint=_HINT) if prefix else manifest.data
    assert table is not None
    for key in table:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            hint = (
                f"did you mean `{close[0]}`?" if close else "known keys: " + ", ".join(KNOWN_KEYS)
            )
            raise manifest.error(f"unknown configuration key `{key}`", (*prefix, key), hint)
    rules = manifest.string_list((*prefix, "rules"), hint=_HINT) or []
    return Config(
        source=label,
        rule_paths=tuple(
            _rule_path(manifest, prefix, index, raw, root) for index, raw in enumerate(rules)
        ),
        select=tuple(manifest.string_list((*prefix, "select"), hint=_HINT) or ()),
        ignore=tuple(manifest.string_list((*prefix, "ignore"), hint=_HINT) or ()),
        severity=_severities(manifest, prefix),
    )


def _rule_path(manifest: Manifest, prefix: KeyPath, index: int, raw: str, root: Path) -> Path:
    path = (manifest.folder / raw).resolve()
    if not path.is_relative_to(root):
        raise manifest.error(
            f"rule path `{raw}` is outside the workspace",
            (*prefix, "rules", index),
            "rule files named by the scanned tree must live inside it; pass others with --rules",
        )
    if not path.exists():
        raise manifest.error(
            f"rule path `{raw}` does not exist", (*prefix, "rules", index), "fix the path"
        )
    return path


def _severities(manifest: Manifest, prefix: KeyPath) -> dict[str, Severity]:
    table: Any = manifest.table((*prefix, "severity"), hint=_HINT) or {}
    out = {}
    for rule_id, level in table.items():
        if not isinstance(level, str) or level not in ("error", "warning", "note"):
            raise manifest.error(
                f'severity of `{rule_id}` must be "error", "warning" or "note"',
                (*prefix, "severity", rule_id),
                _HINT,
            )
        out[str(rule_id)] = Severity(level)
    return out
