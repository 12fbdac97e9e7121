"""Compiling some rule files in a forked child while this process compiles the others.

A cold start compiles the four built-in packs (166 KB of rules: lark's parse, the patterns'
trees, the queries' validation) before any worker can start: 0.22 s on one core while the
other waits. Forked after the parser is built, a child compiles the later files and sends
the compiled rules back pickled (their regexes travel as sources, `dsl.compiled`), which costs
a few milliseconds. Any failure in the child (a rule error, a pickling problem, a dead child)
only means the parent compiles those files itself, so errors are reported exactly as a serial
compile reports them.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unsound.dsl.compiled import CompiledRule

RuleFile = tuple[str, str, str]  # (pack, display path, text)
CompileEach = Callable[[Sequence[RuleFile]], list[list["CompiledRule"]]]

# Below this much rule text in the child's share, a fork costs more than it saves.
MIN_CHILD_BYTES = 20_000


def split_point(files: Sequence[RuleFile]) -> int:
    """Where to cut the files (the parent takes those before, the child those after): half of
    them each. A file's cost follows neither its size nor its rule count (the built-in packs:
    ffi 66 ms for 33 KB, hygiene 30 ms for 16 KB, lifetimes 70 ms for 59 KB, rudra 52 ms for
    58 KB), and half the files balances the built-in packs best (96 ms against 122 ms).
    0 when a child does not pay (too little text) or cannot be forked."""
    if len(files) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cut = len(files) // 2
    later = sum(len(text) for _, _, text in files[cut:])
    return cut if later >= MIN_CHILD_BYTES else 0


class ChildCompile:
    """A forked child compiling some rule files; `result()` waits for its rules (one list per
    file), or None if it failed in any way."""

    def __init__(self, files: Sequence[RuleFile], compile_each: CompileEach) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, args=(files, compile_each, send), daemon=True
        )
        self._process.start()
        send.close()

    def result(self) -> list[list[CompiledRule]] | None:
        try:
            payload = self._receive.recv_bytes()
            status, rules = pickle.loads(payload)
        except Exception:  # a dead child, a truncated pipe: compile here instead
            return None
        finally:
            self.close()
        return rules if status == "ok" else None

    def close(self) -> None:
        """Stop the child if it still runs (the parent's own files failed to compile)."""
        self._receive.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _child(files: Sequence[RuleFile], compile_each: CompileEach, send: Connection) -> None:
    payload: Any
    try:
        payload = ("ok", compile_each(files))
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # the parent compiles these files again and reports the error
        data = pickle.dumps(("failed", None))
    try:
        send.send_bytes(data)
    finally:
        send.close()
