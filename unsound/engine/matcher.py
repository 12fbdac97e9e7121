"""Runs a rule set over one parsed file: one combined tree-sitter query, then exact checks.

Every rule's patterns become one `Query`, so a file's tree is searched once in C whatever the
number of rules; Python only looks at the candidates the query returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial

from tree_sitter import Node, Query, QueryCursor

from unsound.dsl import ast
from unsound.dsl.compiled import MATCH_VAR, CompiledRule
from unsound.dsl.pattern import BYTES_MATCH, Pattern, query_predicate
from unsound.dsl.rule_facts import (
    STATIC_MUT_FACT,
    asks_unconstrained_next,
    fact_phrases,
    lints_silencing,
    locating_facts,
    member_local,
    required_enclosing_impl,
    required_relations,
    within_one_piece,
)
from unsound.dsl.rust_parser import rust_language
from unsound.engine import node_memo
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.cargo_lints import LintLevels
from unsound.engine.conditions import (
    MatchContext,
    all_hold,
    has_some_lifetime,
    precheck_holds,
    precheck_var,
    pure_node_test,
    shared_onward,
    split_prechecks,
)
from unsound.engine.crate_gate import CrateGate, CrateNames
from unsound.engine.crate_index import CrateIndex
from unsound.engine.findings import build_finding
from unsound.engine.item_ranges import ItemCuts, ItemPlan, RuleItems
from unsound.engine.macros import REGION_PATTERNS, macro_units
from unsound.engine.matching import Env, match_pattern
from unsound.engine.query_merge import merge_by_literals
from unsound.engine.relations import share_queries
from unsound.engine.syntax import type_base_name
from unsound.engine.units import ParsedFile, WholeFileNeeded
from unsound.model import Finding

# What one more tree-sitter query pass costs, in patterns' worth of matching: measured on
# wasmtime's `crates/wasmtime/src` (4.4 MB) after the queries were narrowed, a pass with one
# trivial pattern took 0.11-0.16 s and each further pattern about 4 ms, so a pass's fixed walk
# of the tree costs about as much as 25-40 patterns (25 measured best on the whole workspace).
_PASS_COST = 25
# A single rule's query is built only once the passes it would make cheaper have paid for it
# (rent or buy): measured on 454 of wasmtime's files (7.9 MB), the combined query's pass (65
# patterns) took 0.66 s and a one-rule query's about 0.26 s, so each pattern unit of a pass
# costs about 0.00084 ms per KB of source; building a query costs about 2 ms plus 1 ms a pattern
# (3.0-18 ms for the built-in rules' singles). A cold worker built 15-19 of them for files that
# one or two rules want, 80-140 ms, many used by a file or two.
_PASS_MS_PER_UNIT_BYTE = 0.00084 / 1024
_BUILD_MS_FIXED = 2.0
_BUILD_MS_PER_PATTERN = 1.0


class _QueryPlan:
    """Some rules' patterns as one query: each distinct candidate query once, the rules' gates,
    and the macro-region patterns."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        # Rules often share a pattern (`fn $F(..) { .. }`, `unsafe impl …`): each distinct
        # candidate query runs once, and its candidates go to every rule that uses it, so the
        # cost grows with distinct patterns, not with rules.
        self.queries: list[str] = []
        self.users: list[list[tuple[CompiledRule, Pattern]]] = []
        position: dict[str, int] = {}
        for rule in rules:
            for pattern in rule.patterns:
                index = position.get(pattern.query)
                if index is None:
                    index = position[pattern.query] = len(self.queries)
                    self.queries.append(pattern.query)
                    self.users.append([])
                self.users[index].append((rule, pattern))
        # Each rule's gates: sets of query indices of which the unit must hold at least one
        # match, or no candidate of the rule there can pass its conditions.
        # In a partly parsed file, only the gates of relations that stay in the match's item
        # (`has`, `inside`): a `follows` may find its statement in an item left out.
        self.gates: dict[str, tuple[frozenset[int], ...]] = {}
        self.near_gates: dict[str, tuple[frozenset[int], ...]] = {}
        for rule in rules:
            for beside, table in ((True, self.gates), (False, self.near_gates)):
                gates = []
                for alternatives in required_relations(rule, beside):
                    if not all(_selective(pattern.query) for pattern in alternatives):
                        # `(block)`, `(let_declaration value: (_))`: present in nearly every
                        # file, so the gate would cost its matches and reject nothing.
                        continue
                    indices = set()
                    for pattern in alternatives:
                        index = position.get(pattern.query)
                        if index is None:
                            index = position[pattern.query] = len(self.queries)
                            self.queries.append(pattern.query)
                            self.users.append([])
                        indices.add(index)
                    gates.append(frozenset(indices))
                table[rule.id] = tuple(gates)
        # The macro regions are found in the same pass over the tree (one traversal per file).
        self.region_index = len(self.queries)
        self.queries.extend(REGION_PATTERNS)
        self.users.extend([] for _ in REGION_PATTERNS)

    @cached_property
    def _merged(self) -> tuple[list[str], list[list[int]]]:
        """The queries with the same shape and different literals as one query each (an
        `#any-of?` of their literals), and which queries each merged one stands for.

        A merged pattern's candidate goes to every query it stands for, whose structural
        match checks the name exactly (`engine.query_merge`).
        """
        return merge_by_literals(self.queries)

    @property
    def size(self) -> int:
        """Patterns in the query tree-sitter runs (what its cost grows with)."""
        return len(self._merged[0])

    @property
    def built(self) -> bool:
        """Whether the query (for valid UTF-8, nearly every file) is built already."""
        return "query" in self.__dict__

    @cached_property
    def query(self) -> Query:
        """The query for valid UTF-8 source: tree-sitter's own `#match?`, checked in C."""
        source = "\n".join(self._merged[0]).replace(f"(#{BYTES_MATCH} ", "(#match? ")
        return Query(rust_language(), source)

    @cached_property
    def bytes_query(self) -> Query:
        """The query for a file with invalid UTF-8, on which `#match?` fails: the same regexes,
        checked on bytes by `query_predicate`."""
        return Query(rust_language(), "\n".join(self._merged[0]))

    def matches(self, unit: ParsedFile) -> list[tuple[int, dict[str, list[Node]]]]:
        """(index into `queries`, captures) of every candidate of the unit."""
        if unit.utf8:
            found = QueryCursor(self.query).matches(unit.tree.root_node)
        else:
            found = QueryCursor(self.bytes_query).matches(unit.tree.root_node, query_predicate)
        members = self._merged[1]
        return [(index, captures) for merged, captures in found for index in members[merged]]


class RuleSetMatcher:
    """All compiled rules, with their patterns combined into one query.

    A file that only some rules want (their prefilter) is searched with those rules' own
    queries when that is cheaper than one pass of the whole set's query: a query's cost grows
    with its patterns, so a file that only one rule wants should not pay for 140 patterns.
    """

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        # A rule that only the crate's names locate (`&$X` where `$X is static-mut`) has
        # patterns that match nearly every expression, and few files want it: its patterns are
        # searched in a pass of their own, in those files. In the combined pass they made 19,000
        # of wasmtime's 44,000 candidates, 32 of them in a file that wanted the rule.
        self._apart = frozenset(
            rule.id for rule in self.rules if not rule.locators and locating_facts(rule)
        )
        self._combined = _QueryPlan([rule for rule in self.rules if rule.id not in self._apart])
        share_queries(
            pattern.query
            for rule in self.rules
            for patterns in rule.relations.values()
            for pattern in patterns
        )
        self._single: dict[str, _QueryPlan] = {}
        # What each rule's single query would have saved so far, in ms (see `_PASS_MS_…`).
        self._single_credit: dict[str, float] = {}
        # With `compile_for_few_files`: one query for the rules a task's files want.
        self._per_task = False
        self._covering: tuple[frozenset[str], _QueryPlan] | None = None
        self._silenced: dict[LintLevels, frozenset[str]] = {}

    @cached_property
    def crate_gate(self) -> CrateGate:
        return CrateGate(self.rules)

    @cached_property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules)

    @property
    def query(self) -> Query:
        return self._combined.query

    def compile_all(self) -> None:
        """Compile now what every file's matching needs first: the combined query, the rules'
        prefilter needles and their `matches` regexes (and the `regex` import).

        Workers call this at start, while the parent reads the cache and discovers files: a
        rescan's one task otherwise compiled them after the parent had nothing left to do (on
        wasmtime about 50 ms beside the query's 75). Relations' queries are left to first use:
        the built-in rules have 130, about 2.5 ms each, and a task asks a few of them.
        """
        self.query  # noqa: B018 - compiled for the first task
        self.compile_texts()
        for rule in self.rules:
            for needle in (*rule.prefilter, *rule.region_prefilter):
                needle.compile()
            for source in rule.regexes:
                rule.regexes[source]  # compiled on access

    def compile_for_few_files(self) -> None:
        """Compile what a rescan of a few files needs first: none of the combined query, the
        needles and the `matches` regexes. Building a query costs about 1.1 ms per
        pattern, whatever the files: the built-in rules' combined query (63 patterns) took
        74 ms, longer than a one-file rescan's whole task. Each task then builds one query for
        just the rules its files want (`prepare`): wasmtime's usual one-file rescan wants 10
        rules, 28 patterns, 31 ms. The needles' branches (172, 16 ms) and the regexes (49,
        17-30 ms) compile when a search or a candidate first asks for one; the `regex` module
        they need is imported now (8 ms of a one-file task otherwise)."""
        import regex  # noqa: F401 - imported for the first candidate's `matches`

        self._per_task = True
        self.compile_texts()

    def compile_texts(self) -> None:
        """The part of `compile_all` and `compile_for_few_files` every scan needs (a second
        call costs next to nothing): a worker started before the parent knows which scan it is
        (`parallel.WorkerPool`'s `plan_later`) does this while it waits. The rules' crate facts
        and region tests, which the first file otherwise works out (about 11 ms on the
        built-in rules: a one-file rescan's task waited for them)."""
        self.crate_gate  # noqa: B018 - computed now
        for rule in self.rules:
            self._region_key(rule)

    def prepare(self, wanted: set[str]) -> None:
        """Called with the rules a task's files want, before they are matched: after
        `compile_for_few_files`, builds the query the task's files will go through (one for
        those rules; the combined one once a task wants half the rules or more, and for good)."""
        if not self._per_task or self._combined.built:
            return
        wanted = (wanted & self.rule_ids) - self._apart  # those have their own queries
        if not wanted:
            return
        if 2 * len(wanted) >= len(self.rules):
            self.query  # noqa: B018 - built now, used by every later file
            return
        if self._covering is not None and wanted <= self._covering[0]:
            return
        plan = _QueryPlan([rule for rule in self.rules if rule.id in wanted])
        self._covering = (frozenset(wanted), plan)

    def prepare_now(self, wanted: set[str]) -> None:
        """`prepare`, and the query built at once rather than by the first file's pass (a
        worker does this before its task arrives, `parallel._prepare_for`)."""
        self.prepare(wanted)
        if self._covering is not None and not self._combined.built:
            self._covering[1].query  # noqa: B018 - built now

    def silenced_by(self, levels: LintLevels) -> frozenset[str]:
        """Ids of the rules a crate with these manifest lint levels cannot give a finding: a
        rule that holds only where a lint is not allowed (`lints_silencing`) while the
        manifest allows it crate-wide (wasmtime's `clippy::all`). Their files are not parsed
        for them."""
        if not levels.entries:
            return frozenset()
        known = self._silenced.get(levels)
        if known is None:
            known = self._silenced[levels] = frozenset(
                rule.id for rule in self.rules if any(map(levels.allows, lints_silencing(rule)))
            )
        return known

    def wanted(self, data: bytes) -> set[str]:
        """Ids of the rules whose literal prefilter the file passes."""
        return {rule.id for rule in self.rules if rule.may_match(data)}

    def plan_items(
        self, data: bytes, wanted: set[str], crate_names: CrateNames | None = None
    ) -> ItemPlan | None:
        """The file's pieces (top-level items, impl members: `engine.item_ranges`) each wanted
        rule can match in: those holding every locator of the rule and a name of each crate
        fact it locates by (`locating_facts`: the impl's self type, the `static mut`); and the
        ranges to parse, their union with what is always parsed (None when a wanted rule can
        locate nothing, or when that is most of the file); and the rules one of whose locators
        the file holds nowhere (`unmatchable`). None when no wanted rule can locate its
        matches."""
        facts = {
            rule.id: self._locating_facts[rule.id] if crate_names else ()
            for rule in self.rules
            if rule.id in wanted
        }
        locating = [r for r in self.rules if r.id in facts and (r.locators or facts[r.id])]
        if not locating:
            return None
        cuts = ItemCuts(data)
        held: dict[object, set[int]] = {}  # pieces per locator: rules share them
        rule_items: dict[str, set[int]] = {}
        unmatchable = set()
        for rule in locating:
            pieces: list[set[int]] = []
            for needle in rule.locators:
                found = held.get(needle.pattern)
                if found is None:
                    found = held[needle.pattern] = cuts.holding_needle(needle)
                pieces.append(found)
            for fact in facts[rule.id]:
                found = held.get(fact)
                if found is None:
                    assert crate_names is not None
                    names = crate_names.names(fact)
                    found = held[fact] = cuts.holding_regex(names) if names else set()
                pieces.append(found)
            for trait, prefix in self._fact_phrases[rule.id] if facts[rule.id] else ():
                key = (trait, prefix)
                found = held.get(key)
                if found is None:
                    assert crate_names is not None
                    phrase = crate_names.after_prefix(trait, prefix)
                    found = held[key] = cuts.holding_regex(phrase) if phrase else set()
                pieces.append(found)
            if not all(pieces):
                unmatchable.add(rule.id)
            rule_items[rule.id] = self._rule_pieces(rule, cuts, pieces)
        whole = len(locating) < len(facts)
        chosen = set().union(*rule_items.values())
        parse = None if whole else cuts.ranges(chosen)
        return ItemPlan(cuts, rule_items, parse, frozenset(unmatchable))

    def _rule_pieces(self, rule: CompiledRule, cuts: ItemCuts, held: list[set[int]]) -> set[int]:
        """The pieces a match of the rule can lie in, given the pieces holding each of its
        locators (then its locating facts' names): a member of an impl when each is in it or
        in the impl's header, for a rule whose matches stay in one member (`member_local`);
        else whole items holding each. A rule whose every match lies in one piece
        (`within_one_piece`) has the locators its match's own text holds (`locators_in_match`)
        in one piece together: on rust-analyzer, `shared-borrow-escapes-mut-view` chose every
        generic impl with a method returning `&'a` and another calling `.as_ref()`."""
        own: set[int] | None = None
        if self._within_one_piece[rule.id]:
            flags = rule.locators_in_match  # the locators come first, then the facts
            in_match = [
                pieces for pieces, mine in zip(held[: len(flags)], flags, strict=True) if mine
            ]
            if in_match:
                own = set.intersection(*in_match)
        if self._member_local[rule.id]:
            found = set.intersection(*(cuts.with_headers(pieces) for pieces in held))
            return found if own is None else found & own
        items = [{cuts.header[piece] for piece in pieces} for pieces in held]
        if own is not None:
            items.append({cuts.header[piece] for piece in own})
        return cuts.whole_items(set.intersection(*items))

    @cached_property
    def _within_one_piece(self) -> dict[str, bool]:
        return {rule.id: within_one_piece(rule) for rule in self.rules}

    @cached_property
    def _member_local(self) -> dict[str, bool]:
        return {rule.id: member_local(rule) for rule in self.rules}

    @cached_property
    def _locating_facts(self) -> dict[str, tuple[str, ...]]:
        return {rule.id: locating_facts(rule) for rule in self.rules}

    @cached_property
    def _fact_phrases(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Per rule, the phrases (`fact_phrases`) of its locating facts."""
        return {
            rule.id: tuple(
                (trait, prefix)
                for trait, prefix in fact_phrases(rule)
                if trait in self._locating_facts[rule.id]
            )
            for rule in self.rules
        }

    def run(
        self,
        unit: ParsedFile,
        crate: CrateIndex,
        wanted: set[str],
        crate_names: CrateNames | None = None,
        items: RuleItems | None = None,
        settled: Settled | None = None,
    ) -> list[Finding]:
        """Findings of the wanted rules in one file (its code and its macro bodies and
        arguments, read as Rust), one per (rule, primary location).

        `crate_names` filters macro regions as it filtered the file: a region that spells no
        name a rule's crate facts need is not parsed for that rule. `items` turns away a rule's
        candidates outside the pieces its matches can lie in (`plan_items`). `settled` carries
        the candidates of the file's own code judged by a partly parsed try that was given up
        (`WholeFileNeeded`) into the try on the whole file, which does not judge them again."""
        wanted = wanted & self.rule_ids
        if not wanted:
            return []
        with node_memo.scope():
            return self._run(unit, crate, wanted, crate_names, items, settled)

    def _run(
        self,
        unit: ParsedFile,
        crate: CrateIndex,
        wanted: set[str],
        crate_names: CrateNames | None,
        items: RuleItems | None,
        settled: Settled | None,
    ) -> list[Finding]:
        findings: dict[tuple[str, int, int], Finding] = {}
        plans = self._plans(wanted, len(unit.data))
        gates = self._candidate_gates(wanted, crate_names)
        regions = self._collect(plans, unit, crate, wanted, findings, gates, items, settled)
        # One rule per distinct region test: rules that spell the same patterns and need the
        # same crate facts accept the same regions (a region is asked once, not once a rule),
        # with the ids of the rules that share it.
        groups: dict[tuple[object, ...], tuple[CompiledRule, list[str]]] = {}
        for rule in self.rules:
            if rule.id in wanted:
                groups.setdefault(self._region_key(rule), (rule, []))[1].append(rule.id)

        def accepts(region: Node) -> bool:
            # A region outside every item a rule may match in holds no candidate of it that
            # would not be turned away (`RuleItems`): its text is not even read for the rule.
            kept = [
                rule
                for rule, rule_ids in groups.values()
                if items is None or items.allow_any(rule_ids, region)
            ]
            if not kept:
                return False
            text = unit.data[region.start_byte : region.end_byte]
            return any(
                rule.may_match_region(text)
                and (crate_names is None or crate_names.allows(rule.id, text))
                for rule in kept
            )

        for derived in macro_units(unit, regions, accepts):
            self._collect(plans, derived, crate, wanted, findings, gates, items, None)
        return sorted(findings.values(), key=Finding.sort_key)

    def _candidate_gates(
        self, wanted: set[str], crate_names: CrateNames | None
    ) -> dict[str, Callable[[Node], bool]]:
        """Per wanted rule whose candidates the crate's names can turn away before they are
        matched, the test a candidate must pass: for a rule that needs its match inside an impl
        of a type implementing a trait (`required_enclosing_impl`), an impl around it that may
        be of such a type (`_may_be_in_impl_of`); for a rule located by `static mut`s (`&$X`
        where `$X is static-mut`), a `static mut` of the crate spelled in the candidate, which
        binds `$X` inside it. Of embassy's 6,559 candidates of `static-mut-reference` (every
        reference in an item that names a `static mut`) 138 spell one, 117 are findings."""
        if crate_names is None:
            return {}
        gates: dict[str, Callable[[Node], bool]] = {}
        for rule in self.rules:
            if rule.id not in wanted:
                continue
            trait = self._enclosing_impl_traits.get(rule.id)
            if trait is not None:
                gates[rule.id] = partial(_may_be_in_impl_of, names=crate_names.implementing(trait))
            elif STATIC_MUT_FACT in self._locating_facts[rule.id]:
                statics = crate_names.names(STATIC_MUT_FACT)
                gates[rule.id] = _never if statics is None else partial(_spells, statics)
        return gates

    @cached_property
    def _enclosing_impl_traits(self) -> dict[str, str]:
        traits = {rule.id: required_enclosing_impl(rule) for rule in self.rules}
        return {rule_id: trait for rule_id, trait in traits.items() if trait is not None}

    def _region_key(self, rule: CompiledRule) -> tuple[object, ...]:
        """What `may_match_region` and the crate gate's `allows` read of a rule."""
        words = tuple(pattern.all_words for pattern in rule.patterns)
        needles = tuple(needle.pattern for needle in rule.region_prefilter)
        return (words, needles, self.crate_gate.needs.get(rule.id, ()))

    def _plans(self, wanted: set[str], size: int) -> list[_QueryPlan]:
        """The queries a file's wanted rules are searched with: those of `_shared_plans`, and
        each wanted rule's own that is kept apart from the combined query."""
        shared = wanted - self._apart
        plans = self._shared_plans(shared, size) if shared else []
        apart = wanted & self._apart
        return plans + [self._single_plan(r) for r in self.rules if r.id in apart]

    def _shared_plans(self, wanted: set[str], size: int) -> list[_QueryPlan]:
        """The combined query, or one query per wanted rule if that costs less; the task's
        query (`prepare`) when the combined one is not built and it covers the wanted rules.

        Once the combined query is built, a rule's own query is built only when the passes it
        would have made cheaper (of `size` bytes each) add up to its building cost; until then
        the file takes the combined pass."""
        if len(wanted) == len(self.rules) - len(self._apart):
            return [self._combined]
        covering = self._covering
        if covering is not None and not self._combined.built and wanted <= covering[0]:
            return [covering[1]]
        chosen = [rule for rule in self.rules if rule.id in wanted]
        sizes = [self._single_size(rule) for rule in chosen]
        single_cost = sum(_PASS_COST + plan_size for plan_size in sizes)
        if single_cost >= _PASS_COST + self._combined.size:
            return [self._combined]
        if self._combined.built:
            units_saved = _PASS_COST + self._combined.size - single_cost
            saving = units_saved * size * _PASS_MS_PER_UNIT_BYTE / len(chosen)
            missing = False
            for rule, plan_size in zip(chosen, sizes, strict=True):
                if self._single_plan(rule).built:
                    continue
                credit = self._single_credit.get(rule.id, 0.0) + saving
                if credit < _BUILD_MS_FIXED + _BUILD_MS_PER_PATTERN * plan_size:
                    self._single_credit[rule.id] = credit
                    missing = True
            if missing:
                return [self._combined]
        return [self._single_plan(rule) for rule in chosen]

    def _single_plan(self, rule: CompiledRule) -> _QueryPlan:
        plan = self._single.get(rule.id)
        if plan is None:
            plan = self._single[rule.id] = _QueryPlan([rule])
        return plan

    def _single_size(self, rule: CompiledRule) -> int:
        """Patterns in the rule's own query (its plan's merged query, built or not)."""
        return self._single_plan(rule).size

    def _collect(
        self,
        plans: list[_QueryPlan],
        unit: ParsedFile,
        crate: CrateIndex,
        wanted: set[str],
        findings: dict[tuple[str, int, int], Finding],
        candidate_gates: dict[str, Callable[[Node], bool]],
        items: RuleItems | None,
        settled: Settled | None,
    ) -> list[tuple[str, Node]]:
        """Add the unit's findings; return its macro regions (name, token tree). With
        `settled`, a partly parsed unit notes there each candidate it judges, and a whole one
        takes the verdicts noted for its candidates instead of judging them again: both trees
        hold the same nodes for the pieces the partial one parsed, and a candidate that read
        beyond them raised before it was noted."""
        noting = settled if settled is not None and unit.partial else None
        taking = _verdicts(settled) if settled and not unit.partial else None
        regions: list[tuple[str, Node]] | None = None
        shared: dict[tuple[int, int], list[_Structural]] = {}
        # A pattern matches once per way its query does: `fn $F($..A, $P: $PT, $..B)` where
        # `$PT matches "\*|NonNull"` once per such parameter (on wasmtime 313 of 4,889
        # candidates were a rule's pattern at a node judged again).
        judged: set[tuple[str, int, int]] = set()
        for plan in plans:
            matches = plan.matches(unit)
            if regions is None:
                regions = [
                    (name, node)
                    for index, captures in matches
                    if index >= plan.region_index
                    for name, nodes in captures.items()
                    for node in nodes
                ]
            gates = plan.near_gates if unit.partial else plan.gates
            present = {index for index, _ in matches}
            passing = {
                rule_id
                for rule_id in wanted
                if all(gate & present for gate in gates.get(rule_id, ()))
            }
            for index, captures in matches:
                for rule, pattern in plan.users[index]:
                    if rule.id not in passing:
                        continue
                    context = MatchContext(rule, crate)
                    gate = candidate_gates.get(rule.id)
                    for root in captures.get("root", []):
                        if gate is not None and not gate(root):
                            continue
                        if items is not None and not items.allows(rule.id, root):
                            continue
                        candidate = (rule.id, id(pattern), root.id)
                        if candidate in judged:
                            continue
                        judged.add(candidate)
                        if taking is None:
                            finding = _first_finding(root, unit, pattern, context, shared)
                            if noting is not None:
                                noting.append((rule.id, pattern, root, finding))
                        else:
                            finding = _taken(taking, root, unit, pattern, context, shared)
                        if finding is None:
                            continue
                        span = finding.primary.span
                        key = (rule.id, span.start_byte, span.end_byte)
                        findings.setdefault(key, finding)
        return regions or []


def _spells(names: re.Pattern[bytes], root: Node) -> bool:
    return names.search(root.text or b"") is not None


def _never(root: Node) -> bool:
    return False


def _may_be_in_impl_of(root: Node, names: frozenset[str]) -> bool:
    """Whether an impl block around `root` (or inside it) may be for one of `names`: the rule's
    `inside impl … $S` and `$S implements` cannot both hold otherwise. On wasmtime this turns
    away 4,200 of `raw-handle-escapes-drop-owner`'s 5,400 structural matches before their
    bindings and relations are built. An impl whose self type has no plain name, or any impl
    inside the candidate, keeps it."""
    if b"impl" in (root.text or b""):
        return True
    ancestor = root.parent
    while ancestor is not None:
        if ancestor.type == "impl_item":
            self_type = ancestor.child_by_field_name("type")
            name = type_base_name(self_type) if self_type is not None else None
            if name is None or name == "Self" or name in names:
                return True
        ancestor = ancestor.parent
    return False


class _Structural:
    """One structural match of a pattern at a node, with its bindings built on first use and
    then shared by every rule that spells the same pattern (conditions never change them)."""

    __slots__ = ("_bindings", "env")

    def __init__(self, env: Env) -> None:
        self.env = env
        self._bindings: Bindings | None = None

    def bindings(self, unit: ParsedFile, root: Node) -> Bindings:
        if self._bindings is None:
            initial: Bindings = {
                name: Bound(
                    unit, value if isinstance(value, tuple) else (value,), isinstance(value, tuple)
                )
                for name, value in self.env.items()
            }
            initial[MATCH_VAR] = Bound(unit, (root,))
            self._bindings = initial
        return self._bindings


# The candidates of a file's own code a partly parsed try judged, in order: (rule, pattern,
# node, the finding it made). Noted as a list, a tuple appended per candidate, and keyed only
# when the try is given up and the whole file is matched (most tries are not given up).
Settled = list[tuple[str, Pattern, Node, Finding | None]]


_NodeKey = tuple[str, int, int, int, int]


def _node_key(rule_id: str, pattern: Pattern, root: Node) -> _NodeKey:
    """A candidate by (rule, pattern, the node's span and kind): the same for the node of the
    whole file's tree at the same place as one of a partly parsed tree."""
    return (rule_id, id(pattern), root.start_byte, root.end_byte, root.kind_id)


def _verdicts(settled: Settled) -> dict[_NodeKey, Finding | None]:
    """The noted findings (or None) by candidate."""
    return {_node_key(rule, pattern, root): finding for rule, pattern, root, finding in settled}


def _taken(
    verdicts: dict[_NodeKey, Finding | None],
    root: Node,
    unit: ParsedFile,
    pattern: Pattern,
    context: MatchContext,
    shared: dict[tuple[int, int], list[_Structural]],
) -> Finding | None:
    """The candidate's noted verdict, or `_first_finding` for one the partial try did not see."""
    key = _node_key(context.rule.id, pattern, root)
    if key in verdicts:
        return verdicts[key]
    return _first_finding(root, unit, pattern, context, shared)


def _first_finding(
    root: object,
    unit: ParsedFile,
    pattern: Pattern,
    context: MatchContext,
    shared: dict[tuple[int, int], list[_Structural]] | None = None,
) -> Finding | None:
    """The first finding the pattern and the rule's conditions make at `root`, if any.

    `shared` holds the structural matches already made in this unit, by (pattern shape, node):
    rules that spell the same pattern (`fn $F($..P) -> $R { $..B }`) match each node once.
    """
    assert isinstance(root, Node)
    plan = _rule_plan(context.rule)
    left = _test_fields(pattern, plan.checks, root, unit, context) if plan.checks else ()
    if left is None:
        return None
    for field, condition, written in _lifetime_fields(context.rule, pattern):
        child = root.child_by_field_name(field)
        if child is not None and not _may_have_lifetime(condition, child, unit, context, written):
            return None
    if shared is None:
        matches: Iterable[_Structural] = map(_Structural, match_pattern(pattern, root))
    else:
        key = (_shape_key(pattern), root.id)
        cached = shared.get(key)
        if cached is None:
            cached = shared[key] = [_Structural(env) for env in match_pattern(pattern, root)]
        matches = cached
    for match in matches:
        conditions, onward = plan.rest, plan.onward_rest
        if left:
            verdict = _prechecks_hold(left, match.env, root, unit, context)
            if verdict is False:
                continue
            if verdict is None:
                conditions, onward = plan.conditions, plan.onward_all
        bindings = all_hold(conditions, match.bindings(unit, root), context, onward)
        if bindings is not None:
            finding = build_finding(root, unit, bindings, context)
            if finding is not None:
                return finding
    return None


# A precheck: the variable it tests, the test when it reads only the node, and the condition.
_Precheck = tuple[str, Callable[[Node], bool] | None, ast.Cond]


@dataclass(frozen=True)
class _RulePlan:
    """How a rule's conditions are asked: its leading node tests, the rest of its conditions,
    and `shared_onward` of the rest and of all of them (for a match the tests cannot decide)."""

    conditions: tuple[ast.Cond, ...]  # the rule's own, compared by identity
    checks: tuple[_Precheck, ...]
    rest: tuple[ast.Cond, ...]
    onward_rest: tuple[frozenset[str], ...]
    onward_all: tuple[frozenset[str], ...]


# Per rule id (a rule set may hold another rule under the same id: its conditions tell).
_RULE_PLANS: dict[str, _RulePlan] = {}


def _rule_plan(rule: CompiledRule) -> _RulePlan:
    """How the rule's conditions are asked (`split_prechecks`, `shared_onward`), made once."""
    found = _RULE_PLANS.get(rule.id)
    if found is None or found.conditions is not rule.ast.conditions:
        matched = frozenset(
            {MATCH_VAR, *(name for pattern in rule.patterns for name in pattern.metavariables())}
        )
        run, rest = split_prechecks(rule.ast.conditions, matched)
        checks = tuple((precheck_var(c), pure_node_test(c), c) for c in run)
        found = _RULE_PLANS[rule.id] = _RulePlan(
            rule.ast.conditions,
            checks,
            rest,
            shared_onward(rest, rule.relations),
            shared_onward(rule.ast.conditions, rule.relations),
        )
    return found


# Per rule id and pattern: the rule's conditions (compared by identity), then for each `$V has
# lifetime` the rule requires of a metavariable that is a field of the pattern's root, that field.
# (`written`: only a lifetime the type writes counts, see `conditions.asks_unconstrained_next`.)
_LifetimeField = tuple[str, ast.HasLifetime, bool]
_LIFETIME_FIELDS: dict[tuple[str, int], tuple[object, tuple[_LifetimeField, ...]]] = {}


def _lifetime_fields(rule: CompiledRule, pattern: Pattern) -> tuple[_LifetimeField, ...]:
    """The rule's required `$R has lifetime` (a `where` line, or a part of an `and` line) about a
    metavariable every structural match binds to the candidate's child in one field (`-> $R`).

    Whether the type names or elides any lifetime at all is asked of that child before the
    structural match, which a function with raw-pointer parameters makes once per parameter:
    a type without one fails the condition in every match (with `'$a` bound, it must name that
    one; `is unconstrained` next, it must write one), so the candidate cannot match. On wasmtime
    32 of 1,574 such matches of `raw-pointer-escapes-lifetime` returned a type with a lifetime.
    """
    key = (rule.id, id(pattern))
    found = _LIFETIME_FIELDS.get(key)
    if found is None or found[0] is not rule.ast.conditions:
        conditions = rule.ast.conditions
        fields = []
        for sequence in (conditions, *(c.parts for c in conditions if isinstance(c, ast.And))):
            for index, part in enumerate(sequence):
                if isinstance(part, ast.HasLifetime):
                    field = _root_field(pattern, part.var)
                    if field is not None:
                        # `… and '$a is unconstrained` next: only a written lifetime counts.
                        written = asks_unconstrained_next(part, sequence[index:])
                        fields.append((field, part, written))
        found = _LIFETIME_FIELDS[key] = (conditions, tuple(fields))
    return found[1]


def _may_have_lifetime(
    condition: ast.HasLifetime, node: Node, unit: ParsedFile, context: MatchContext, written: bool
) -> bool:
    """`has_some_lifetime`, or True when telling would need the whole of the file being matched
    (an elided lifetime of a type it declares): the conditions then ask, if the candidate gets
    that far, and only then is the file matched again whole."""
    try:
        return has_some_lifetime(condition, Bound(unit, (node,)), context, written_only=written)
    except WholeFileNeeded:
        return True


def _test_fields(
    pattern: Pattern,
    prechecks: tuple[_Precheck, ...],
    root: Node,
    unit: ParsedFile,
    context: MatchContext,
) -> tuple[_Precheck, ...] | None:
    """The node tests about `$MATCH`, or a metavariable that the pattern writes once, as a child
    of its root in a field (`-> $R` is the `return_type`), run on the candidate: every structural
    match binds it to the candidate (its child in that field), so a test that fails there fails
    every match, and the structural match (a function's parameter list tried split by split) is
    not even made. None when one fails; else the tests left for each structural match (those
    not run here: a test that passed here would pass again on the same node). On wasmtime, most
    of the `fn …(&self, …) -> $R` candidates have a return type that is a reference or names no
    lifetime."""
    left = []
    for precheck in prechecks:
        name, node_test, condition = precheck
        if name == MATCH_VAR:
            child: Node | None = root
        else:
            field = _root_field(pattern, name)
            child = root.child_by_field_name(field) if field is not None else None
        if child is None:
            left.append(precheck)
        elif not _passes(node_test, condition, child, unit, context):
            return None
    return tuple(left)


def _root_field(pattern: Pattern, name: str) -> str | None:
    """The field of the root's child that is metavariable `name`, when that is its only place
    in the pattern (not a sequence, not in the attributes); else None."""
    memo: dict[str, str | None] = pattern.__dict__.setdefault("_root_fields", {})
    if name not in memo:
        places = [node for node in pattern.root.walk() if node.var == name]
        places += [node for a in pattern.attributes for node in a.walk() if node.var == name]
        field = None
        if len(places) == 1 and not places[0].sequence and not places[0].lifetime:
            (place,) = places
            if any(child is place for child in pattern.root.children):
                field = place.field
        memo[name] = field
    return memo[name]


def _prechecks_hold(
    prechecks: tuple[_Precheck, ...], env: Env, root: Node, unit: ParsedFile, context: MatchContext
) -> bool | None:
    """Whether a structural match passes the rule's leading node tests, read off the match
    itself; None when a test is about a variable the match did not bind (then every condition
    is left to `all_hold`, as without this shortcut)."""
    for name, node_test, condition in prechecks:
        value = root if name == MATCH_VAR else env.get(name)
        if value is None:
            return None
        if not _passes(node_test, condition, value, unit, context):
            return False
    return True


def _passes(
    node_test: Callable[[Node], bool] | None,
    condition: ast.Cond,
    value: Node | tuple[Node, ...],
    unit: ParsedFile,
    context: MatchContext,
) -> bool:
    """One node test on a bound node (or sequence): the plain test when it has one."""
    if isinstance(value, tuple):
        return precheck_holds(condition, Bound(unit, value, True), context)
    if node_test is not None:
        return node_test(value)
    return precheck_holds(condition, Bound(unit, (value,)), context)


def _selective(query: str) -> bool:
    """Whether a candidate query names something a file may lack: a literal identifier or a
    word a metavariable's text must contain."""
    return "(#eq? " in query or f"(#{BYTES_MATCH} " in query


_SHAPES: dict[tuple[object, ...], int] = {}


def _shape_key(pattern: Pattern) -> int:
    """A small id per distinct pattern shape (its node tree and required attributes): two rules'
    patterns compiled from the same code get the same id."""
    key = pattern.__dict__.get("_shape_key")
    if key is None:
        key = _SHAPES.setdefault((pattern.root, pattern.attributes), len(_SHAPES))
        object.__setattr__(pattern, "_shape_key", key)
    return key
