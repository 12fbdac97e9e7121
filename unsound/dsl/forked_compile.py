"""Compiling rule files in forked processes while this process does something else.

A cold start compiles the four built-in packs (166 KB of rules: lark's parse, the patterns'
trees, the queries' validation) before any worker can start: 0.22 s on one core while the
other waits. Forked processes compile shares of the files and send the compiled rules back
pickled (their regexes travel as sources, `dsl.compiled`), which costs a few milliseconds: a
child compiles the later files while the parent compiles the first ones, or, started before
the parent has read the workspace (`loader.prefetch_builtin_rules`), a child and a grandchild
compile both halves while the parent reads the manifests. Any failure in a share (a rule
error, a pickling problem, a dead process) only means the parent compiles those files itself,
so errors are reported exactly as a serial compile reports them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
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
    """Forked processes compiling shares of the rule files; `results()` waits for each share's
    rules (one list per file), or None for a share that failed in any way.

    One child takes the last share. With more than one, it first builds the rule parser
    (`prepare`, lark's import and grammar analysis, about 0.1 s) and forks a grandchild for each
    other share, so that the analysis is done once and every process inherits it: on two cores
    the parent then compiles nothing, and the rules are ready when the slower share is.
    """

    def __init__(
        self,
        shares: Sequence[Sequence[RuleFile]],
        compile_each: CompileEach,
        prepare: Callable[[], object] | None = None,
    ) -> None:
        context = multiprocessing.get_context("fork")
        pipes = [context.Pipe(duplex=False) for _ in shares]
        self._receives = [receive for receive, _ in pipes]
        sends = [send for _, send in pipes]
        self._process = context.Process(
            target=_child,
            args=(shares, compile_each, sends, prepare, self._receives),
            daemon=True,
        )
        self._process.start()
        for send in sends:
            send.close()

    def results(self) -> list[list[list[CompiledRule]] | None]:
        try:
            return [_received(receive) for receive in self._receives]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child if it still runs (the parent's own files failed to compile)."""
        for receive in self._receives:
            receive.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _received(receive: Connection) -> list[list[CompiledRule]] | None:
    try:
        status, rules = pickle.loads(receive.recv_bytes())
    except Exception:  # a dead process, a truncated pipe: the parent compiles the share
        return None
    return rules if status == "ok" else None


def _child(
    shares: Sequence[Sequence[RuleFile]],
    compile_each: CompileEach,
    sends: Sequence[Connection],
    prepare: Callable[[], object] | None,
    receives: Sequence[Connection] = (),
) -> None:
    """The child: the other shares to forked grandchildren, the last one here.

    The parent's ends of the pipes, which the fork copied, are closed first: a process
    holding the reading end of its own pipe waits forever to write a share the pipe cannot
    hold once the parent has gone without reading it (a run that stopped at a usage error),
    and such a grandchild kept the run's stdout and stderr open: a caller reading them to
    their end hung."""
    for receive in receives:
        receive.close()
    if prepare is not None and len(shares) > 1:
        with contextlib.suppress(Exception):  # each share then builds what it needs itself
            prepare()
    grandchildren = []
    for share, send in zip(shares[:-1], sends[:-1], strict=True):
        try:
            pid = os.fork()
        except OSError:  # no process to spare: this share is compiled here too
            _compile_and_send(share, compile_each, send)
            continue
        if pid == 0:
            try:
                for other in sends:
                    if other is not send:
                        other.close()
                _compile_and_send(share, compile_each, send)
            finally:
                os._exit(0)  # nothing of the child's exit handling is the grandchild's
        send.close()
        grandchildren.append(pid)
    _compile_and_send(shares[-1], compile_each, sends[-1])
    for pid in grandchildren:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _compile_and_send(
    files: Sequence[RuleFile], compile_each: CompileEach, send: Connection
) -> None:
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
