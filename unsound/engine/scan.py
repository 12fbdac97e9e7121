"""The scan pipeline: source files → parsed files → findings → `Report`.

One file's failure never loses the others: an exception while matching a file is recorded as a
`ScanProblem` (not scanned) and the scan goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from tree_sitter import Node

from unsound import __version__
from unsound.dsl.compiler import CompiledRule
from unsound.engine.crate_index import CrateIndex
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.parsing import parse_rust
from unsound.engine.sources import SourceFile, collect_sources
from unsound.engine.units import ParsedFile
from unsound.engine.workspace import Package, Workspace
from unsound.model import Finding, ProblemKind, Report, ScanProblem


def scan_workspace(
    workspace: Workspace,
    packages: Sequence[Package],
    rules: Sequence[CompiledRule],
    *,
    all_files: bool = False,
) -> Report:
    """Scan the selected packages of a workspace with the given rules."""
    sources, problems = collect_sources(packages, workspace.root, all_files=all_files)
    findings, scan_problems = scan_sources(sources, rules)
    all_problems = sorted((*problems, *scan_problems), key=lambda p: (p.path, p.line or 0))
    unscanned = {p.path for p in all_problems if p.kind is ProblemKind.NOT_SCANNED}
    return Report(
        tool_version=__version__,
        workspace_root=workspace.root,
        uri_prefix=uri_prefix(workspace.root),
        rules=tuple(rule.info for rule in rules),
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        problems=tuple(all_problems),
        crates_scanned=len(packages),
        files_scanned=len([s for s in sources if s.rel_path not in unscanned]),
    )


def scan_sources(
    sources: Sequence[SourceFile], rules: Sequence[CompiledRule]
) -> tuple[list[Finding], list[ScanProblem]]:
    """Match every rule against every source file; files no rule can match are not parsed."""
    matcher = RuleSetMatcher(rules)
    units: dict[str, ParsedFile] = {}
    by_crate: dict[str, list[SourceFile]] = defaultdict(list)
    for source in sources:
        by_crate[source.crate].append(source)

    def unit_for(source: SourceFile) -> ParsedFile:
        unit = units.get(source.rel_path)
        if unit is None:
            tree = source.tree if source.tree is not None else parse_rust(source.data)
            unit = ParsedFile(source.rel_path, source.crate, source.data, tree)
            units[source.rel_path] = unit
        return unit

    indexes = {
        crate: CrateIndex(lambda files=files: [unit_for(s) for s in files])  # type: ignore[misc]
        for crate, files in by_crate.items()
    }
    findings: list[Finding] = []
    problems: list[ScanProblem] = []
    for source in sources:
        wanted = matcher.wanted(source.data)
        if not wanted:
            continue
        try:
            unit = unit_for(source)
            findings.extend(matcher.run(unit, indexes[source.crate], wanted))
        except Exception as exc:  # one file's failure must not lose the others
            problems.append(
                ScanProblem(
                    source.rel_path,
                    ProblemKind.NOT_SCANNED,
                    f"internal error while matching: {type(exc).__name__}: {exc}",
                )
            )
            continue
        partial = _first_error(unit.tree.root_node)
        if partial is not None:
            span = unit.node_span(partial)
            problems.append(
                ScanProblem(
                    source.rel_path,
                    ProblemKind.PARTLY_PARSED,
                    "file partly parsed: tree-sitter-rust could not parse a region; "
                    "the rest of the file was scanned",
                    span.start_line,
                    span.start_column,
                )
            )
    return findings, problems


def _first_error(root: Node) -> Node | None:
    """The first ERROR or MISSING node, descending only into subtrees that contain one."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node
        stack.extend(reversed([c for c in node.children if c.has_error or c.is_missing]))
    return None


def uri_prefix(workspace_root: Path) -> str:
    """The workspace root relative to the enclosing git repository ('' or 'a/b/').

    Found by walking up to a `.git` entry (a folder, or a file in worktrees and submodules);
    git itself is never run on the scanned tree.
    """
    root = workspace_root.resolve()
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            relative = root.relative_to(candidate).as_posix()
            return "" if relative == "." else relative + "/"
    return ""
