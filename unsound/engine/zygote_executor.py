"""Futures for crate tasks run by workers the zygote forked (`engine.zygote`): the part of
`ProcessPoolExecutor` that `parallel` uses, with its answer to a dying worker.

Each worker has a task pipe and a result pipe of its own. A task goes to the first idle worker,
or waits in order for one; while many wait, a working worker is sent its next task too, if it
fits in the task pipe (so that the send cannot block): it then starts it without waiting for
the parent to see its result and answer (about 1 ms per task, 4% of a worker's time on
wasmtime). A thread reads the results; a worker's
result pipe reaching EOF while the pool is not shutting down means it died (a segfault, the
OOM killer, `os._exit`), and then, as `ProcessPoolExecutor` does, every unfinished future fails
with `BrokenProcessPool`, the other workers are killed, and `parallel` finds the suspects in
the shared slots.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from unsound.dsl.compiled import CompiledRule
    from unsound.engine.crate_task import CrateTask, FileOutcome
    from unsound.engine.zygote import Zygote


class TaskFailed(Exception):
    """A task raised in its worker (not a death); the message names the exception."""


# A future and its task, pickled once it was sized for sending ahead (and found too big). Tasks
# wait unpickled: their pickles would copy every waiting file's bytes (wasmtime's parent peaked
# 18 MiB higher when tasks were pickled as they were submitted).
_Pending = tuple["Future[list[FileOutcome]]", "CrateTask | bytes"]

# Linux lets a process grow a pipe it owns to this many bytes (`/proc/sys/fs/pipe-max-size`'s
# default): most crate tasks of a large workspace then fit whole.
_PIPE_BYTES = 1 << 20
# A bigger task is not sent ahead: it waits for the first worker to be free. Sent ahead, it was
# the worker's whatever the other did meanwhile; on tokio, whose crates went biggest first
# (`crate_sizes`), `tokio-util` (0.67 MB, 40 ms) went ahead to the worker with the bigger half
# of `tokio`, and the other worker idled for the last 135 ms. The millisecond a task saves by
# waiting in the pipe matters only for small ones.
_AHEAD_BYTES = 256 << 10
# A task sent ahead goes down the pipe with a 4-byte length (`Connection.send_bytes`), and
# more for a task over 2 GiB, which is never sent ahead.
_FRAMING = 4


@dataclass
class _Worker:
    pid: int | None  # None until the zygote has forked it
    tasks: Connection
    results: Connection
    # The futures of the tasks sent to it, in order (its results come back in that order).
    sent: deque[Future[list[FileOutcome]]]
    room: int  # the bytes its task pipe holds without blocking a writer
    done: bool = False  # its result pipe reached EOF


def _pickled(task: CrateTask | bytes) -> bytes:
    return task if isinstance(task, bytes) else bytes(ForkingPickler.dumps(task))


def _new_worker(tasks: Connection, results: Connection) -> _Worker:
    return _Worker(None, tasks, results, deque(), _pipe_room(tasks.fileno()))


def _pipe_room(fd: int) -> int:
    """The task pipe's size, grown where the platform allows (0: nothing is sent ahead)."""
    if sys.platform != "linux":
        return 0
    import fcntl

    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except OSError:  # over the system's limit: the size it has
        try:
            return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        except OSError:
            return 0


class ZygoteExecutor:
    """`workers` workers forked by `zygote` for `rules`, given slots 0 to `workers` - 1."""

    def __init__(self, zygote: Zygote, rules: Sequence[CompiledRule], workers: int) -> None:
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        try:
            for slot in range(workers):
                self._workers.append(_new_worker(*zygote.request_worker(slot, rules)))
        except OSError:
            self._stop_workers(kill=True)
            raise
        self._zygote = zygote
        self._waiting: deque[_Pending] = deque()
        self._broken = False
        self._closing = False
        self._wake_read, self._wake_write = os.pipe()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def forked_none(self) -> bool:
        """Whether the zygote stopped before forking any of its workers (meaningful once the
        pool has stopped): no task was started, so none is suspect."""
        return all(worker.pid is None for worker in self._workers)

    def submit(self, task: CrateTask) -> Future[list[FileOutcome]]:
        future: Future[list[FileOutcome]] = Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool("a worker process died")
            if self._closing:
                raise RuntimeError("cannot submit a task after shutdown")
            self._waiting.append((future, task))
            self._dispatch()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; cancel the waiting ones if asked; workers end after their current
        task (killed at once if the pool broke); with `wait`, return once they have ended."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if cancel_futures:
                for future, _ in self._waiting:
                    future.cancel()
                self._waiting.clear()
            broken = self._broken
        self._stop_workers(kill=broken)
        with contextlib.suppress(OSError):  # the collector has ended already
            os.write(self._wake_write, b"x")
        os.close(self._wake_write)
        if wait:
            self._collector.join()

    def _dispatch(self) -> None:
        """Send waiting tasks (the lock held): to each idle worker, then, while more tasks
        wait than there are workers, one ahead to each worker whose pipe holds it whole. (Near
        the end none is sent ahead: a worker must not sit on a task another could start.)"""
        if self._closing:
            return
        for worker in self._workers:
            if self._waiting and not worker.done and not worker.sent:
                future, task = self._waiting.popleft()
                self._send(worker, future, _pickled(task))
        for worker in self._workers:
            if len(self._waiting) <= len(self._workers):
                return
            if worker.done or len(worker.sent) != 1:
                continue
            future, task = self._waiting.popleft()
            pickled = _pickled(task)
            if len(pickled) + _FRAMING > min(worker.room, _AHEAD_BYTES):
                self._waiting.appendleft((future, pickled))  # for a worker that is idle
                return
            self._send(worker, future, pickled)

    def _send(self, worker: _Worker, future: Future[list[FileOutcome]], pickled: bytes) -> None:
        """Give `worker` the task (the lock held). A worker that died meanwhile fails it when
        the collector sees the death."""
        worker.sent.append(future)
        future.set_running_or_notify_cancel()
        with contextlib.suppress(OSError):
            worker.tasks.send_bytes(pickled)

    def _collect(self) -> None:
        """Deliver results, and keep idle workers busy, until every worker has ended."""
        wake = self._wake_read
        by_pipe = {worker.results: worker for worker in self._workers}
        self._take_pids(by_pipe)
        try:
            while by_pipe:
                for ready in wait([*by_pipe, wake]):
                    if ready == wake:
                        os.read(wake, 1)  # shutdown: the workers' pipes close as they end
                        continue
                    assert isinstance(ready, Connection)
                    worker = by_pipe[ready]
                    try:
                        outcomes, failure = ready.recv()
                    except (EOFError, OSError):
                        del by_pipe[ready]
                        self._ended(worker)
                        continue
                    self._finished(worker, outcomes, failure)
        finally:
            os.close(wake)
            for worker in self._workers:
                worker.results.close()

    def _take_pids(self, by_pipe: dict[Connection, _Worker]) -> None:
        """The workers' pids, as the zygote forks them: asked for without waiting (the parent
        goes on finding the workspace's files while the zygote compiles; their tasks wait in
        the pipes). A worker the zygote stopped before forking is dead to the pool, which
        breaks; its result pipe is not waited on (a zygote with other workers holds it open
        until they end)."""
        for worker in self._workers:
            try:
                pid = self._zygote.forked_pid()
            except OSError:
                del by_pipe[worker.results]
                self._ended(worker)
                continue
            with self._lock:
                worker.pid = pid
                killed = self._broken
            if killed:  # the pool broke meanwhile: this worker must not outlive it
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def _finished(
        self, worker: _Worker, outcomes: list[FileOutcome] | None, failure: str | None
    ) -> None:
        with self._lock:
            future = worker.sent.popleft() if worker.sent else None
            self._dispatch()
        if future is None:
            return
        if failure is not None:
            future.set_exception(TaskFailed(failure))
        else:
            assert outcomes is not None
            future.set_result(outcomes)

    def _ended(self, worker: _Worker) -> None:
        """A worker's result pipe closed: its exit after shutdown, or a death."""
        with self._lock:
            worker.done = True
            if self._closing and not worker.sent:
                return
            self._broken = True
            unfinished = [future for w in self._workers for future in w.sent]
            unfinished += [future for future, _ in self._waiting]
            for other in self._workers:
                other.sent.clear()
            self._waiting.clear()
        self._stop_workers(kill=True)
        for future in unfinished:
            future.set_exception(BrokenProcessPool("a worker process died"))

    def _stop_workers(self, *, kill: bool) -> None:
        """Close every worker's task pipe (a worker ends once it has read to its end); `kill`:
        end them now, as `ProcessPoolExecutor` does when its pool breaks. A worker whose result
        pipe has closed has ended and is not signalled (its pid may be another process's)."""
        with self._lock:
            for worker in self._workers:
                if worker.tasks.closed:
                    continue
                with contextlib.suppress(OSError):
                    if not kill:  # the end, even if a process forked since holds the pipe too
                        worker.tasks.send(None)
                    worker.tasks.close()
                if kill and not worker.done and worker.pid is not None:
                    with contextlib.suppress(OSError):
                        os.kill(worker.pid, signal.SIGKILL)
