"""A compiled rule's pickled form: what the CLI reads off a rule (its id, metadata and
fingerprint) at once, the rest (syntax tree, patterns, needles) as bytes unpickled on first use.

The process that runs the CLI never matches: it selects rules, keys the scan cache and writes
reports. Unpickling the built-in rules' trees, and importing the modules of their classes
(`dsl.ast`'s 28 dataclasses alone take about 20 ms to define), cost a rescan of wasmtime about
40 ms before its worker could be told what to scan. Now a rule restored from the compiled-rules
cache, or sent back by a forked compile, carries its body as bytes; the workers, which inherit
it, unpickle it when they first ask for a pattern (`CompiledRule.__getattr__`).

A body is unpickled by a restricted unpickler that admits only the classes a compiled rule is
made of (`_body_classes`) and the two regex reconstructors below, so bytes from a cache file
(authenticated as a whole by `dsl.rule_cache`) can never call anything else. Compiled regexes
are pickled as their source and flags and compiled again on load, so that no library's private
reconstructor (`re._compile`, `regex`'s code arrays) has to be admitted.
"""

from __future__ import annotations

import functools
import pickle
import re
from collections.abc import Callable
from io import BytesIO
from types import ModuleType
from typing import TYPE_CHECKING, Any

from unsound.dsl.compiled import BODY_FIELDS, CompiledRule

if TYPE_CHECKING:
    import regex

    from unsound.model import RuleInfo


def reduce_rule(rule: CompiledRule) -> tuple[Callable[..., CompiledRule], tuple[object, ...]]:
    """`CompiledRule.__reduce__`: a rule that was never unpickled has its body pickled now."""
    body = rule.__dict__.get("_body")
    if body is None:
        body = dump_body(tuple(getattr(rule, name) for name in BODY_FIELDS))
    return restore_rule, (rule.info, rule.id, rule.fingerprint, body)


def restore_rule(info: RuleInfo, rule_id: str, fingerprint: str, body: bytes) -> CompiledRule:
    """A rule whose body stays bytes until it is asked for."""
    if not isinstance(body, bytes):
        raise pickle.UnpicklingError("a compiled rule's body must be bytes")
    rule = object.__new__(CompiledRule)
    rule.__dict__.update(info=info, id=rule_id, fingerprint=fingerprint, _body=body)
    return rule


def dump_body(values: tuple[object, ...]) -> bytes:
    import regex  # a run that only ever loads rules never imports it (7 ms)

    out = BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {re.Pattern: _reduce_re, regex.Pattern: _reduce_regex}
    pickler.dump(values)
    return out.getvalue()


def load_body(body: bytes) -> tuple[object, ...]:
    values = _BodyUnpickler(BytesIO(body)).load()
    if not isinstance(values, tuple) or len(values) != len(BODY_FIELDS):
        raise pickle.UnpicklingError("a compiled rule's body has another shape")
    return values


class _BodyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Callable[..., object]:
        found = _body_classes().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a compiled rule")
        return found


@functools.cache
def _body_classes() -> dict[tuple[str, str], Callable[..., object]]:
    """What a body may name: the classes of the modules a compiled rule is made of (its AST,
    patterns, prefilter needles, metadata), and the two regex reconstructors. Built-in
    containers (tuple, dict, set, frozenset, bytes) have opcodes of their own and are never
    looked up. Imported here, at the first body, not by the process that only reads rules."""
    from unsound import model
    from unsound.dsl import ast, compiled, needle, pattern

    return {
        **classes_of(ast, pattern, needle, compiled, model),
        (__name__, _compiled_re.__name__): _compiled_re,
        (__name__, _compiled_regex.__name__): _compiled_regex,
    }


def classes_of(*modules: ModuleType) -> dict[tuple[str, str], Callable[..., object]]:
    """Every class defined in these modules, by (module, name) as pickle names them."""
    return {
        (module.__name__, name): value
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }


def _compiled_re(source: str | bytes, flags: int) -> re.Pattern[Any]:
    return re.compile(source, flags)


def _compiled_regex(source: str, flags: int) -> regex.Pattern[str]:
    import regex  # only a body holding a compiled `regex` pattern needs it

    return regex.compile(source, flags)


def _reduce_re(compiled_re: re.Pattern[Any]) -> tuple[Callable[..., object], tuple[object, ...]]:
    return _compiled_re, (compiled_re.pattern, compiled_re.flags)


def _reduce_regex(
    compiled_regex: regex.Pattern[str],
) -> tuple[Callable[..., object], tuple[object, ...]]:
    return _compiled_regex, (compiled_regex.pattern, compiled_regex.flags)
