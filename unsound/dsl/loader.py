"""Finding and loading rule files: the built-in packs and any the user names.

The rule parser and compiler (and lark) are imported only when rules are compiled: a run whose
rules come from the compiled-rules cache (`dsl.rule_cache`) never needs them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from unsound.errors import RuleError

if TYPE_CHECKING:
    from unsound.dsl.ast import RuleAst
    from unsound.dsl.compiled import CompiledRule
    from unsound.dsl.forked_compile import ChildCompile

RULE_SUFFIX = ".rules"


def builtin_rule_files() -> list[tuple[str, str, str]]:
    """(pack name, display path, text) of every built-in rule file, sorted by pack."""
    return list(_builtin_rule_files())


@functools.cache
def _builtin_rule_files() -> tuple[tuple[str, str, str], ...]:
    # Read once per process: a run asks for them to prefetch, to load and to compare (they are
    # the package's own files, which do not change under a running tool).
    folder = resources.files("unsound.rulesets")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(RULE_SUFFIX):
            text = entry.read_text(encoding="utf-8")
            out.append((entry.name[: -len(RULE_SUFFIX)], f"<builtin>/{entry.name}", text))
    return tuple(out)


def user_rule_files(paths: Sequence[Path]) -> list[tuple[str, str, str]]:
    """Rule files from user paths: a file, or every `*.rules` under a folder."""
    out = []
    for path in paths:
        if path.is_dir():
            files = sorted(path.rglob(f"*{RULE_SUFFIX}"))
            if not files:
                raise RuleError(
                    f"no `*{RULE_SUFFIX}` files in folder {path}",
                    path=path,
                    hint="point --rules at a rule file or a folder that holds some",
                )
        elif path.is_file():
            files = [path]
        else:
            raise RuleError("rule file not found", path=path, hint="check the --rules path")
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RuleError(
                    f"cannot read rule file: {exc}", path=file, hint="check the file"
                ) from None
            out.append((file.stem, str(file), text))
    return out


def compile_rule_files(files: Iterable[tuple[str, str, str]]) -> list[CompiledRule]:
    """Parse and compile rule files; a rule id defined twice is an error.

    With several files, the later ones are compiled in a forked child meanwhile (or every one
    by forked processes, when `prefetch_builtin_rules` started them: `dsl.forked_compile`); the
    errors are those of a compile in file order either way.
    """
    from unsound.dsl.forked_compile import ChildCompile, split_point

    files = list(files)
    pending = _take_pending(files)
    if pending is not None:
        cuts, child = pending
    else:
        split = split_point(files)
        if not split:
            return _compile_in_order(files, {})
        _build_parser()  # once, inherited by the child
        try:
            child = ChildCompile([files[split:]], _compile_each)
        except (OSError, AssertionError):  # no fork here (a daemonic process may not have one)
            return _compile_in_order(files, {})
        cuts = (split, len(files))
    rest = files[cuts[-1] :]  # a user's files, after the prefetched built-in ones
    try:
        seen: dict[str, str] = {}
        rules = _compile_in_order(files[: cuts[0]], seen)
        early = _compile_meanwhile(rest)
        shares = child.results()
    finally:
        child.close()
    # In file order: each share, then the rest; a part that failed (None) is compiled here, so
    # that its error, or an earlier part's, is reported where a serial compile reports it.
    parts = [*zip(pairwise(cuts), shares, strict=True), ((cuts[-1], len(files)), early)]
    for (start, end), compiled_files in parts:
        if compiled_files is None:
            rules += _compile_in_order(files[start:end], seen)
            continue
        for (_, display, text), compiled in zip(files[start:end], compiled_files, strict=True):
            for rule in compiled:
                if rule.id in seen:  # raises, at the place its tree (loaded only now) gives
                    _check_first_definition(rule.ast, display, text, seen)
                seen[rule.id] = display
                rules.append(rule)
    return rules


def _compile_meanwhile(files: Sequence[tuple[str, str, str]]) -> list[list[CompiledRule]] | None:
    """Each file's rules, compiled while forked processes compile the files before them; None
    if one fails, to be compiled again in order (its error, or an earlier file's, is then
    reported where a serial compile reports it). An id defined twice within these files fails
    here too; one a file before them defines is found when they are taken in order."""
    if not files:
        return []
    try:
        return _compile_each(files)
    except RuleError:
        return None


def _take_pending(
    files: Sequence[tuple[str, str, str]],
) -> tuple[tuple[int, ...], ChildCompile] | None:
    """A prefetched compilation of the first of these files (the built-in packs, which come
    before `--rules` files), taken out of `_PENDING`: a run with its own rules files still uses
    the built-in ones' forked compilation instead of compiling them again beside it."""
    for prefix in _PENDING:
        if tuple(files[: len(prefix)]) == prefix:
            return _PENDING.pop(prefix)
    return None


def _build_parser() -> None:
    """The parser, built in the forked child (lark is imported there, not here)."""
    from unsound.dsl.parser import build_parser

    build_parser()


def _compile_in_order(
    files: Sequence[tuple[str, str, str]], seen: dict[str, str]
) -> list[CompiledRule]:
    """Each file's rules compiled in order; `seen` (rule id → display path) grows with them."""
    if not files:  # forked processes compiled them all: lark is never imported here
        return []
    from unsound.dsl.compiler import compile_rule
    from unsound.dsl.parser import parse_rule_file

    rules: list[CompiledRule] = []
    for pack, display, text in files:
        for rule_ast in parse_rule_file(text, display):
            _check_first_definition(rule_ast, display, text, seen)
            rules.append(compile_rule(rule_ast, pack, text))
    return rules


def compile_serially(files: Sequence[tuple[str, str, str]]) -> list[CompiledRule]:
    """`compile_rule_files` in this process alone (a package build forks nothing)."""
    return _compile_in_order(files, {})


def _compile_each(files: Sequence[tuple[str, str, str]]) -> list[list[CompiledRule]]:
    """Each file's rules, compiled in a forked child (ids checked within these files only)."""
    seen: dict[str, str] = {}
    return [_compile_in_order([file], seen) for file in files]


def _check_first_definition(
    rule_ast: RuleAst, display: str, text: str, seen: dict[str, str]
) -> None:
    if rule_ast.id in seen:
        raise RuleError(
            f"rule `{rule_ast.id}` is defined twice",
            path=display,
            line=rule_ast.span.line,
            column=rule_ast.span.column,
            hint=f"the other definition is in {seen[rule_ast.id]}; rename one",
            source_line=text.splitlines()[rule_ast.span.line - 1],
            width=len(rule_ast.id),
        )
    seen[rule_ast.id] = display


def load_rules(
    extra: Sequence[Path] = (), *, builtin: bool = True, cache: bool = False
) -> list[CompiledRule]:
    """The built-in rules (unless not `builtin`) and those in `extra`, compiled.

    With `cache`, from the compiled-rules cache in the user's cache folder when the same rule
    texts were compiled by the same tool before (and into it otherwise). Off by default, so that
    library callers and tests never touch the user's folders; the scan command turns it on
    unless given `--no-cache`.
    """
    files = tuple((builtin_rule_files() if builtin else []) + user_rule_files(extra))
    # A scan asks twice (configuration names, then the rule set): the same texts load once.
    compiled = _COMPILED.get(files)
    if compiled is None:
        compiled = _bundled(files)
    if compiled is None:
        compiled = _cached(files) if cache else _compile(files)
    _COMPILED[files] = compiled
    return list(compiled)


def _bundled(files: tuple[tuple[str, str, str], ...]) -> list[CompiledRule] | None:
    """The built-in rules as the package's build compiled them (`dsl.rule_bundle`), when
    `files` are just those and the bundle's key is this run's; else None."""
    if files != tuple(builtin_rule_files()):
        return None
    from unsound.dsl.rule_bundle import read_bundle

    return read_bundle(files)


def _compile(files: Sequence[tuple[str, str, str]]) -> list[CompiledRule]:
    """`compile_rule_files`, except that a project's rules after the built-in ones are compiled
    beside the package's compiled built-in rules, when it has them (an id the project defines
    again is still an error)."""
    builtin = tuple(builtin_rule_files())
    own = files[len(builtin) :]
    if own and tuple(files[: len(builtin)]) == builtin:
        bundled = _COMPILED.get(builtin) or _bundled(builtin)
        if bundled is not None:
            seen = {rule.id: f"<builtin>/{rule.info.pack}{RULE_SUFFIX}" for rule in bundled}
            return [*bundled, *_compile_in_order(own, seen)]
    return compile_rule_files(files)


def prefetch_builtin_rules(*, cache: bool) -> None:
    """Start loading the built-in rules now, for a `load_rules` call to come: from the
    package's compiled copy (`dsl.rule_bundle`) or the compiled-rules cache when either has
    them, else by forking their compilation
    (`dsl.forked_compile`): a child builds the rule parser and compiles the later files, a
    grandchild it forks the first ones, while this process imports the CLI and reads the
    workspace's manifests, and compiles nothing itself.

    On a cold scan of wasmtime, a child started after the CLI's imports compiled half the
    rules while this process built its own parser and compiled the other half: the rules were
    ready about 0.42 s in. A child started here and never asked for is stopped with the
    process (it is daemonic; a grandchild ends when its share is sent, or cannot be).
    """
    files = tuple(builtin_rule_files())
    if files in _COMPILED or files in _PENDING:
        return
    bundled = _bundled(files)
    if bundled is not None:
        _COMPILED[files] = bundled
        return
    if cache:
        from unsound.dsl.rule_cache import RuleCache

        store = RuleCache.open(files)
        rules = store.read() if store is not None else None
        if rules is not None:
            _COMPILED[files] = rules
            return
    # Imported only now: multiprocessing took 15-20 ms of every run that loads the rules from
    # the package's compiled copy or the cache.
    from unsound.dsl.forked_compile import ChildCompile, split_point

    split = split_point(files)
    if not split:
        return
    try:
        child = ChildCompile([files[:split], files[split:]], _compile_each, _build_parser)
    except (OSError, AssertionError):
        return
    _PENDING[files] = ((0, split, len(files)), child)


def builtin_rules_loaded() -> bool:
    """Whether the built-in rules are loaded already (from the compiled-rules cache, by
    `prefetch_builtin_rules`), not still compiling."""
    return tuple(builtin_rule_files()) in _COMPILED


def _cached(files: tuple[tuple[str, str, str], ...]) -> list[CompiledRule]:
    """From the cache, or compiled and stored; a rule error is raised before anything is stored,
    so a file with an error is reported on every run."""
    from unsound.dsl.rule_cache import RuleCache

    store = RuleCache.open(files)
    rules = store.read() if store is not None else None
    if rules is None:
        rules = _compile(files)
        if store is not None:
            store.write(rules)
    return rules


_COMPILED: dict[tuple[tuple[str, str, str], ...], list[CompiledRule]] = {}
# Compilations that forked processes started on (`prefetch_builtin_rules`): where the files are
# cut (this process compiles those before the first cut, each share the files between two
# cuts), and the child.
_PENDING: dict[tuple[tuple[str, str, str], ...], tuple[tuple[int, ...], ChildCompile]] = {}
