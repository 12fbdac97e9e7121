"""A process forked as a run starts, that compiles the rules once and then forks the scan's
workers (`parallel.WorkerPool`), each inheriting what it compiled.

A cold scan's workers were forked from the parent once it had read the workspace (about 0.2 s
into a scan of wasmtime), and each then spent 0.12-0.16 s of CPU on the same start-up: the
matcher's imports, the rules' combined query, needles and regexes. The first one was ready about
0.35 s in, the second (sharing two cores with it and with the parent's file discovery) about
0.55 s in, while the first crates were ready to scan at 0.19 s. Forked before the CLI's own
imports, on the core the parent leaves idle until then, this process does that start-up once;
the workers it forks are ready as soon as they are asked for (their first task 0.21 s in), and
the scan's CPU drops by one worker's start-up. Nine alternating cold scans of wasmtime: 1.82 →
1.71 s.

The zygote holds the built-in rules (its catalog) and builds, before it is asked, the matcher of
those a scan runs by default (`entry`); a scan that selects others among them (a configuration's
`select` or `ignore`, `--select`) has their matcher built when it first asks for a worker, once
for all its workers. A project's own rule files, and a rescan's few-file pool, start their
workers as before. The parent asks for a worker by sending, over a Unix socket, which rules of
the catalog it runs and the worker's ends of a task pipe and of a result pipe
(`socket.send_fds`); the worker it forks holds the only write end of its result pipe, so the
parent reads EOF there exactly when the worker is gone (`zygote_executor`). The parent does not
wait for the zygote's answer (the worker's pid): its tasks wait in the pipe while it goes on
finding the workspace's files, and the pool's thread takes the pids. On wasmtime the parent had
waited 50-60 ms at the pool's start for the zygote to finish compiling; eleven alternating cold
scans: 1.43 -> 1.39 s (tokio, nine: 0.98 -> 0.93 s). Everything here is
the tool's own code, run on the rules it compiled: nothing from the scanned workspace.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from unsound.dsl.compiled import CompiledRule

# Workers' slots in the shared array (`parallel`: task id and file index per worker); a pool of
# more workers than this starts them as before.
MAX_WORKERS = 128
_INT = struct.Struct("q")
# Seconds `Zygote.stop` waits for the zygote to exit before it kills it.
_STOP_WAIT = 5.0


class Zygote:
    """The parent's handle on the zygote process: `catalog`, the rules its workers can run (in
    the order a selection keeps), `preload`, those it builds a matcher for before it is asked."""

    def __init__(
        self, catalog: tuple[CompiledRule, ...], preload: tuple[CompiledRule, ...]
    ) -> None:
        self.catalog = catalog
        self._index = {id(rule): index for index, rule in enumerate(catalog)}
        self._request = struct.Struct(f"q{len(catalog)}s")  # a worker's slot, a rule bitmap
        # Two ints per worker, shared with every process forked from here on (an anonymous
        # shared mapping): what `parallel.WorkerPool.slots` is for a pool of forked workers.
        self._memory = mmap.mmap(-1, 2 * MAX_WORKERS * _INT.size)
        self.slots = memoryview(self._memory).cast("q")
        self._socket, theirs = socket.socketpair()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        self._forked = False  # whether it has forked a worker (and so finished compiling)
        self.failed = False  # whether it stopped answering: its pools broke, none is asked for
        self.pid = os.fork()
        if self.pid == 0:
            self._socket.close()
            _serve(theirs, self._request, catalog, self._chosen(preload), self.slots)
        theirs.close()

    def serves(self, rules: Sequence[CompiledRule]) -> bool:
        """Whether its workers can run these very rules: compiled objects of its catalog, in
        the catalog's order (never once it has stopped answering)."""
        indices = [self._index.get(id(rule), -1) for rule in rules]
        ordered = bool(indices) and indices[0] >= 0 and indices == sorted(set(indices))
        return ordered and not self.failed

    def _chosen(self, rules: Sequence[CompiledRule]) -> bytes:
        chosen = bytearray(len(self.catalog))
        for rule in rules:
            chosen[self._index[id(rule)]] = 1
        return bytes(chosen)

    def request_worker(
        self, slot: int, rules: Sequence[CompiledRule]
    ) -> tuple[Connection, Connection]:
        """Ask for a new worker running `rules` (which it `serves`), writing to `slot` of
        `slots`: the connection to send it tasks and the one its results come back on, usable
        at once (tasks wait in the pipe until the worker reads them). The zygote forks it once
        it has compiled; `forked_pid` gives its pid, in the order asked. Raises OSError when the
        zygote is gone."""
        from multiprocessing.connection import Connection

        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        try:
            request = self._request.pack(slot, self._chosen(rules))
            socket.send_fds(self._socket, [request], [task_read, result_write])
        except OSError:
            self.failed = True
            os.close(task_write)
            os.close(result_read)
            raise
        finally:
            os.close(task_read)
            os.close(result_write)
        return Connection(task_write, readable=False), Connection(result_read, writable=False)

    def forked_pid(self) -> int:
        """The pid of the worker asked for first among those not answered yet: it waits for the
        zygote to finish compiling. Raises OSError when the zygote stopped before forking it
        (it is then never asked again: `serves` is False)."""
        try:
            reply = self._socket.recv(_INT.size, socket.MSG_WAITALL)
        except OSError:
            self.failed = True
            raise
        if len(reply) != _INT.size:
            self.failed = True
            raise OSError("the zygote process has stopped")
        (pid,) = _INT.unpack(reply)
        self._forked = True
        return pid

    def stop(self) -> None:
        """End the zygote: it exits once its workers have (they end when their task pipes
        close), having waited for them, so that their CPU time counts in this process's
        children's (`os.times`, `time`). One that never forked a worker may still be compiling,
        which is not waited for; nor one whose workers have not ended after a while (a pool
        left open: a bug, which must not hang the run's exit)."""
        self._socket.close()
        deadline = time.monotonic() + (_STOP_WAIT if self._forked else 0)
        with contextlib.suppress(OSError):
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    return
                time.sleep(0.002)


_ZYGOTE: Zygote | None = None


def start_zygote(catalog: Sequence[CompiledRule], preload: Sequence[CompiledRule] = ()) -> None:
    """Fork the zygote for rules of the catalog, building the matcher of `preload` at once
    (nothing where there is no `fork`, or when one runs)."""
    global _ZYGOTE
    if _ZYGOTE is not None or not catalog or not hasattr(os, "fork"):
        return
    with contextlib.suppress(OSError):
        _ZYGOTE = Zygote(tuple(catalog), tuple(preload))


def current_zygote() -> Zygote | None:
    return _ZYGOTE


def stop_zygote() -> None:
    global _ZYGOTE
    zygote, _ZYGOTE = _ZYGOTE, None
    if zygote is not None:
        zygote.stop()


def _serve(
    requests: socket.socket,
    request: struct.Struct,
    catalog: tuple[CompiledRule, ...],
    preload: bytes,
    slots: memoryview,
) -> NoReturn:
    """The zygote: compile, then fork a worker per request until the parent closes its end.
    A request names the worker's slot and its rules (a bitmap over the catalog); the matcher of
    each set of rules is built once, the preloaded one before any request.

    Never returns: any failure ends the process quietly, and the parent, finding the socket
    closed, starts its workers itself."""
    try:
        # Interrupts are the parent's to handle (it stops the scan and closes the pipes).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from multiprocessing.connection import Connection

        from unsound.engine.parallel import lower_priority, prepare_worker, serve_tasks

        lower_priority()
        built = {preload: prepare_worker(_rules_of(catalog, preload))}
        while True:
            message, fds, _, _ = socket.recv_fds(requests, request.size, 2)
            if len(message) != request.size or len(fds) != 2:
                break
            slot, chosen = request.unpack(message)
            prepared = built.get(chosen)
            if prepared is None:
                prepared = built[chosen] = prepare_worker(_rules_of(catalog, chosen))
            # What the workers inherit (modules, rules, compiled matchers) lives as long as they
            # do: out of the cyclic collector's passes, a worker's full collection no longer
            # walks it, nor copies the pages it sits on. Eleven alternating cold scans of
            # wasmtime: 1.51 -> 1.47 s, page faults about 57,400 -> 56,000.
            gc.freeze()
            pid = os.fork()
            if pid == 0:
                requests.close()
                task_fd, result_fd = fds
                serve_tasks(
                    Connection(task_fd, writable=False),
                    Connection(result_fd, readable=False),
                    prepared,
                    slots,
                    slot,
                )
                os._exit(0)
            for fd in fds:
                os.close(fd)
            requests.sendall(_INT.pack(pid))
    finally:
        with contextlib.suppress(OSError):
            while True:  # until ChildProcessError: no worker left
                os.waitpid(-1, 0)
        os._exit(0)


def _rules_of(catalog: tuple[CompiledRule, ...], chosen: bytes) -> list[CompiledRule]:
    return [rule for rule, on in zip(catalog, chosen, strict=True) if on]
