"""One unit of scan work: some files of one crate, matched with the crate's whole index at hand.

The unit is a crate (or a slice of a big one) because rules that relate items (`holds`, elided
lifetimes, `implements`) consult an index of every file of the crate. A task therefore carries
every file of its crate; only those marked `scan` are matched, the rest are there for the index,
which is built lazily, so a crate whose matches never consult it is never parsed beyond the files
its rules want.

The same function runs in a worker process and in-process, so the sequential and the parallel
scan give identical results by construction. Its outcome is plain data (findings, problems),
never trees: trees cannot cross a process boundary and would cost the memory the pool saves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from tree_sitter import Node, Tree

from unsound.dsl.rust_parser import parse_rust
from unsound.dsl.word_regex import whole_word
from unsound.engine.crate_index import CrateIndex
from unsound.engine.crate_reads import ReadsRecorder
from unsound.engine.crate_task import CrateTask, FileJob, FileOutcome, OnResult
from unsound.engine.item_ranges import ItemPlan, items_holding, parse_items
from unsound.engine.matcher import RuleSetMatcher, Settled
from unsound.engine.prefilter import RuleSetPrefilter
from unsound.engine.suppressions import apply_suppressions, may_hold_suppressions
from unsound.engine.units import ParsedFile, WholeFileNeeded
from unsound.model import Finding, ProblemKind, ScanProblem

__all__ = ["CrateTask", "FileJob", "FileOutcome", "OnResult", "partly_parsed", "scan_crate"]


# A file still to be matched whose items that spell an index question's word are more than
# 1/this of it is parsed whole for the question, and the matching takes that parse instead of
# parsing its own pieces again (deno's parsed bytes: 6.26 MB when every such file was parsed
# whole, 6.49 MB when none was, 5.75 MB with a quarter; 5.89 MB with a half).
_WHOLE_WHEN_SPELLED_OVER = 4

# The `CrateIndex` queries audited to note, through their selectors, every file their answer
# depends on (`crate_reads`). Any other attribute a rule reaches for counts as reading the whole
# crate, so a query added to the index without that audit is safe, only slower to rescan.
# `workspace_crates` and `lint_levels` read no file of the crate: the scan cache's key holds the
# member names and every member's lint levels.
_AUDITED_QUERIES = frozenset(
    {
        "definitions",
        "may_have_generics",
        "impls_of",
        "definitions_mentioning",
        "module_is_public",
        "reexports",
        "implements",
        "supertraits",
        "declares_trait",
        "is_static_mut",
        "type_alias",
        "mentions",
        "safe_method_uses_unsafe",
        "spells",
        "files_allowing",
        "modules_allowing",
        "workspace_crates",
        "lint_levels",
    }
)


class _TrackedIndex:
    """A view of a `CrateIndex` for one file's matching: audited queries note their reads in
    the index's recorder; anything else marks the whole crate as read."""

    def __init__(self, index: CrateIndex) -> None:
        self._index = index

    def __getattr__(self, name: str) -> Any:
        if name not in _AUDITED_QUERIES:
            self._index.recorder.whole_crate = True
        return getattr(self._index, name)


def scan_crate(
    task: CrateTask,
    matcher: RuleSetMatcher,
    prefilter: RuleSetPrefilter,
    *,
    trees: Mapping[str, Tree] | None = None,
    mark: Callable[[int], None] | None = None,
) -> list[FileOutcome]:
    """Outcomes of the task's `scan` files, in task order.

    `trees` are parses already made (during source discovery, in-process only); `mark(i)` is
    called before file `i` of the task is parsed or matched, so a crash can be pinned on it.
    """
    units: dict[int, ParsedFile] = {}
    matching: list[int] = []  # the index of the file being matched, if any

    def unit_for(index: int) -> ParsedFile:
        """The file parsed whole, as the crate index reads it. Asked for the file being
        matched while only some of its items are parsed, the matching starts over."""
        unit = units.get(index)
        if unit is not None and unit.partial:
            if index in matching:
                raise WholeFileNeeded
            unit = None
        if unit is None:
            job = task.files[index]
            if mark is not None:
                mark(index)
            known = trees.get(job.rel_path) if trees is not None else None
            tree = known if known is not None else parse_rust(job.data)
            unit = ParsedFile(job.rel_path, task.crate, job.data, tree)
            units[index] = unit
        return unit

    def unit_to_match(index: int, plan: ItemPlan | None) -> ParsedFile:
        """The file with only the pieces the plan chose parsed (top-level items, impl members:
        `item_ranges`), or whole."""
        unit = units.get(index)
        if unit is not None:
            return unit
        job = task.files[index]
        known = trees is not None and job.rel_path in trees
        if plan is not None and plan.parse is not None and not known:
            if mark is not None:
                mark(index)
            tree = parse_items(job.data, plan.parse)
            if tree is not None:
                cuts = plan.cuts
                unit = units[index] = ParsedFile(
                    job.rel_path,
                    task.crate,
                    job.data,
                    tree,
                    partial=True,
                    parse_declarations=lambda: parse_items(job.data, cuts.declaration_ranges()),
                )
                return unit
        return unit_for(index)

    spelling_units: dict[tuple[int, str], ParsedFile] = {}

    def still_to_be_matched(index: int) -> bool:
        return bool(prefiltered.get(index)) and (not matching or index > matching[0])

    def items_spelling(index: int, word: str) -> ParsedFile:
        """The file with at least its top-level items that spell `word` parsed, for the
        crate index's questions whose answers those items alone give: its whole parse when
        one was made, else a parse of just those items, kept apart from the units the
        matching shares (a question about the file being matched then needs no new start)."""
        unit = units.get(index)
        if unit is not None and not unit.partial:
            return unit
        found = spelling_units.get((index, word))
        if found is None:
            job = task.files[index]
            positions = [
                position
                for match in re.finditer(whole_word(word.encode()), job.data)
                for position in (match.start(), match.end() - 1)
            ]
            ranges = items_holding(job.data, positions) if positions else None
            if ranges is not None and unit is None and still_to_be_matched(index):
                spelled = sum(end - start for start, end in ranges)
                if spelled * _WHOLE_WHEN_SPELLED_OVER > len(job.data):
                    return unit_for(index)  # shared with the matching to come
            if mark is not None and (ranges is not None or index in matching):
                mark(index)
            tree = parse_items(job.data, ranges) if ranges is not None else None
            if tree is None:  # (nearly) all of it, or items that do not parse apart: whole
                if index not in matching:
                    return unit_for(index)  # shared with the matching
                found = ParsedFile(job.rel_path, task.crate, job.data, parse_rust(job.data))
            else:
                found = ParsedFile(job.rel_path, task.crate, job.data, tree, partial=True)
            spelling_units[(index, word)] = found
        return found

    crate_index = CrateIndex(
        lambda: [unit_for(i) for i in range(len(task.files))],
        [(job.data, partial(unit_for, i)) for i, job in enumerate(task.files)],
        workspace_crates=task.workspace_crates,
        lint_levels=task.lints,
        items_spelling=items_spelling,
    )
    crate_names = matcher.crate_gate.for_crate([job.data for job in task.files])
    paths = [job.rel_path for job in task.files]
    # The prefilter first, for every file: the matcher may build one query for all they want.
    silenced = matcher.silenced_by(task.lints)
    prefiltered = {
        index: prefilter.wanted(job.data) - silenced
        for index, job in enumerate(task.files)
        if job.scan
    }
    matcher.prepare(set().union(*prefiltered.values()))

    def matched(
        index: int, plan: ItemPlan | None, wanted: set[str], tracked: _TrackedIndex
    ) -> tuple[ParsedFile, list[Finding]]:
        """The file as matched and the wanted rules' findings in it: with the pieces the plan
        chose parsed, or again whole when the matching reads beyond them (what the first try
        read of the crate stays noted, a superset of what the second reads)."""
        unit = unit_to_match(index, plan)
        if mark is not None:
            mark(index)
        index_view = cast(CrateIndex, tracked)
        # The candidates the partly parsed try judges before it gives up are not judged again
        # (embassy: 32 files given up, after 0.13 s of matching in all).
        settled: Settled = []
        try:
            items = plan.filter_for(unit.tree, unit.partial) if plan is not None else None
            return unit, matcher.run(unit, index_view, wanted, crate_names, items, settled)
        except WholeFileNeeded:
            del units[index]
            unit = unit_for(index)
            items = plan.filter_for(unit.tree, unit.partial) if plan is not None else None
            return unit, matcher.run(unit, index_view, wanted, crate_names, items, settled)

    outcomes: list[FileOutcome] = []
    for index, job in enumerate(task.files):
        if not job.scan:
            continue
        if mark is not None:
            mark(index)
        # What this file's outcome reads of other files (the gate's names, the index's answers)
        # is noted here: the cache redoes the outcome only when one of those files changes.
        recorder = crate_index.recorder = crate_names.recorder = ReadsRecorder()
        wanted, _ = crate_names.filter(prefiltered[index], job.data)
        # A rule that needs one of its crate words spelled cannot match in a crate without.
        crate_words = matcher.crate_gate.crate_words
        wanted -= {
            rule_id
            for rule_id in wanted & crate_words.keys()
            if not crate_index.spells_any(("crate-words", rule_id), crate_words[rule_id])
        }
        if not wanted and not may_hold_suppressions(job.data):
            outcomes.append(_outcome(job.rel_path, recorder, paths))
            continue
        tracked = _TrackedIndex(crate_index)
        matching[:] = [index]
        try:
            plan = matcher.plan_items(job.data, wanted, crate_names) if wanted else None
            # Rules with a locator the file holds nowhere cannot match in it: a file left with
            # none is not parsed for them (114 of the 647 files of wasmtime that pass the
            # prefilter).
            if plan is not None and plan.unmatchable >= wanted:
                wanted = set()
                if not may_hold_suppressions(job.data):
                    outcomes.append(_outcome(job.rel_path, recorder, paths))
                    continue
            if wanted:
                unit, raw = matched(index, plan, wanted, tracked)
            else:
                # No rule can match here, but a suppression comment for one that ran is still
                # unused: the file is read for its suppressions alone.
                unit = unit_for(index)
                raw = []
            # Inline `// unsound: allow(rule): reason` comments; suppressed findings stay in the
            # outcome (marked with their suppression) so the report can list them for review.
            sorted_out = apply_suppressions(unit, raw, active_rules=matcher.rule_ids)
            findings = [*sorted_out.kept, *sorted_out.diagnostics, *sorted_out.suppressed]
        except Exception as exc:  # one file's failure must not lose the others
            message = f"internal error while matching: {type(exc).__name__}: {exc}"
            problem = ScanProblem(job.rel_path, ProblemKind.NOT_SCANNED, message)
            outcomes.append(FileOutcome(job.rel_path, problems=(problem,), cacheable=False))
            continue
        finally:
            matching.clear()
        # A file no rule was matched in misses no match for a part it could not parse.
        broken = partly_parsed(unit) if wanted else None
        problems = (broken,) if broken is not None else ()
        outcomes.append(_outcome(job.rel_path, recorder, paths, tuple(findings), problems))
    return outcomes


def _outcome(
    rel_path: str,
    recorder: ReadsRecorder,
    paths: list[str],
    findings: tuple[Finding, ...] = (),
    problems: tuple[ScanProblem, ...] = (),
) -> FileOutcome:
    if not recorder.used:
        return FileOutcome(rel_path, findings, problems)
    reads = recorder.reads(paths)
    return FileOutcome(rel_path, findings, problems, crate_dependent=True, crate_reads=reads)


def partly_parsed(unit: ParsedFile) -> ScanProblem | None:
    """A note for a file with ERROR regions: it was scanned, but not all of it was understood."""
    error = _first_error(unit.tree.root_node)
    if error is None:
        return None
    span = unit.node_span(error)
    return ScanProblem(
        unit.rel_path,
        ProblemKind.PARTLY_PARSED,
        "file partly parsed: tree-sitter-rust could not parse a region; "
        "the rest of the file was scanned",
        span.start_line,
        span.start_column,
    )


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
