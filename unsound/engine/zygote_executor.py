"""Futures for crate tasks run by workers the zygote forked (`engine.zygote`): the part of
`ProcessPoolExecutor` that `parallel` uses, with its answer to a dying worker.

Each worker has a task pipe and a result pipe of its own and one task at a time: a task goes
to the first idle worker, or waits in order for one. A thread reads the results; a worker's
result pipe reaching EOF while the pool is not shutting down means it died (a segfault, the
OOM killer, `os._exit`), and then, as `ProcessPoolExecutor` does, every unfinished future fails
with `BrokenProcessPool`, the other workers are killed, and `parallel` finds the suspects in
the shared slots.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unsound.engine.crate_task import CrateTask, FileOutcome
    from unsound.engine.zygote import Zygote


class TaskFailed(Exception):
    """A task raised in its worker (not a death); the message names the exception."""


@dataclass
class _Worker:
    pid: int
    tasks: Connection
    results: Connection
    current: Future[list[FileOutcome]] | None = None
    done: bool = False  # its result pipe reached EOF


class ZygoteExecutor:
    """`workers` workers forked by `zygote`, given slots 0 to `workers` - 1."""

    def __init__(self, zygote: Zygote, workers: int) -> None:
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        try:
            for slot in range(workers):
                self._workers.append(_Worker(*zygote.fork_worker(slot)))
        except OSError:
            self._stop_workers(kill=True)
            raise
        self._waiting: deque[tuple[Future[list[FileOutcome]], CrateTask]] = deque()
        self._broken = False
        self._closing = False
        self._wake_read, self._wake_write = os.pipe()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def submit(self, task: CrateTask) -> Future[list[FileOutcome]]:
        future: Future[list[FileOutcome]] = Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool("a worker process died")
            if self._closing:
                raise RuntimeError("cannot submit a task after shutdown")
            idle = next((w for w in self._workers if w.current is None and not w.done), None)
            if idle is None:
                self._waiting.append((future, task))
            else:
                self._send(idle, future, task)
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

    def _send(self, worker: _Worker, future: Future[list[FileOutcome]], task: CrateTask) -> None:
        """Give `worker` the task (the lock held). A worker that died meanwhile fails it when
        the collector sees the death."""
        worker.current = future
        future.set_running_or_notify_cancel()
        with contextlib.suppress(OSError):
            worker.tasks.send(task)

    def _collect(self) -> None:
        """Deliver results, and keep idle workers busy, until every worker has ended."""
        wake = self._wake_read
        by_pipe = {worker.results: worker for worker in self._workers}
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

    def _finished(
        self, worker: _Worker, outcomes: list[FileOutcome] | None, failure: str | None
    ) -> None:
        with self._lock:
            future, worker.current = worker.current, None
            if self._waiting and not self._closing:
                self._send(worker, *self._waiting.popleft())
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
            if self._closing and worker.current is None:
                return
            self._broken = True
            unfinished = [w.current for w in self._workers if w.current is not None]
            unfinished += [future for future, _ in self._waiting]
            for other in self._workers:
                other.current = None
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
                if kill and not worker.done:
                    with contextlib.suppress(OSError):
                        os.kill(worker.pid, signal.SIGKILL)
