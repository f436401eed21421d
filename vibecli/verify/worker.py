"""Run checks in worker processes under a hard time limit.

SymPy can spend minutes on one pathological `simplify`, and SIGALRM-based timeouts only work
on the main thread. Each check here runs in a child process; one that overruns is killed and
its worker replaced, and the check is reported `undecided (timed out)`. Workers die with
their parent, even when it is SIGKILLed, and hold none of its sockets.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from vibecli.lifetime import die_with_parent, exit_when_closed


@dataclass(frozen=True)
class TimedOut:
    seconds: float


@dataclass(frozen=True)
class Failed:
    message: str


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _close_inherited_sockets(keep: int) -> None:
    """A forked worker starts with copies of the parent's sockets; keeping a server's listening
    socket open would hold its port after the server stopped."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd == keep:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            continue  # the directory's own descriptor, gone by now


def _serve(conn: Connection) -> None:
    """Worker loop: receive (function path, args), send back the result or the error."""
    # Forked handlers are the parent's: Ctrl-C is the parent's to handle, SIGTERM ends a worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        die_with_parent()  # the signal follows the forking thread: the pool's owner
        _close_inherited_sockets(keep=conn.fileno())
    elif (parent := multiprocessing.parent_process()) is not None and parent.sentinel is not None:
        exit_when_closed(parent.sentinel)  # spawned: only the parent holds the other end
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        path, args = message
        try:
            conn.send(("ok", _resolve(path)(*args)))
        except Exception as exc:  # a bug in one check must not take the worker down
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    """One worker process. On Linux it is forked directly, not through `multiprocessing.Process`,
    which refuses to start children from a daemonic process (a `multiprocessing.Pool` worker, a
    torch DataLoader worker); the worker still dies with the thread that forked it
    (`die_with_parent`) and is killed and reaped by `kill`."""

    def __init__(self, context: Any) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process: Any = None
        self.pid = 0
        self.owner = os.getpid()  # a forked child's copy of this object must not kill the parent's worker
        if context is None:
            self.pid = _fork_worker(self.conn, child)
        else:
            self.process = context.Process(target=_serve, args=(child,), daemon=True)
            self.process.start()
            self.pid = self.process.pid
        child.close()
        self.job: int | None = None
        self.deadline = 0.0
        # A pool can be closed by two threads at once (a server's shutdown beside the lane that
        # owns it): the second kill must not close the pipe's descriptor again, which by then may
        # number another file.
        self._killing = threading.Lock()
        self._killed = False

    def kill(self) -> None:
        if os.getpid() != self.owner:  # a forked child's copy: only its own descriptor to close
            if not self._killed:
                self._killed = True
                self.conn.close()
            return
        with self._killing:
            if self._killed:
                return
            self._killed = True
            self._end_process()
            self.conn.close()

    def _end_process(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join(timeout=5)
        elif self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)  # reaped now: no zombie is left behind
            self.pid = 0


def _fork_worker(parent_end: Connection, child_end: Connection) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:  # the child: serve until the pipe closes, then leave without running the parent's exit handlers
        parent_end.close()
        _serve(child_end)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


class WorkerPool:
    """A few worker processes that run `module:function` calls, each within `timeout_s`."""

    def __init__(self, *, workers: int = 1, timeout_s: float = 10.0, warm: Iterable[str] = ()) -> None:
        for module in warm:  # imported before forking, so every worker starts with it loaded
            importlib.import_module(module)
        # Linux: workers forked directly (None); elsewhere spawned by multiprocessing.
        self._context = None if sys.platform.startswith("linux") else multiprocessing.get_context("spawn")
        self._workers = [_Worker(self._context) for _ in range(max(1, workers))]
        self.timeout_s = timeout_s

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.kill()
        self._workers = []

    def __del__(self) -> None:
        # A pool dropped without close(), e.g. with the thread that held it: its workers are
        # killed (they die with that thread anyway) and reaped, not left as zombies.
        with contextlib.suppress(Exception):
            self.close()

    def call(self, path: str, *args: Any) -> Any:
        """One call; returns its result, a `TimedOut` or a `Failed`."""
        return next(self.map(path, [args]))

    def map(self, path: str, jobs: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        """Results in input order; workers run ahead on later jobs meanwhile."""
        pending = iter(enumerate(jobs))
        results: dict[int, Any] = {}
        next_out = 0
        exhausted = False
        while True:
            for index, worker in enumerate(self._workers):
                if worker.job is None and not exhausted:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                        break
                    worker.job, worker.deadline = job[0], time.monotonic() + self.timeout_s
                    try:
                        worker.conn.send((path, job[1]))
                    except (BrokenPipeError, OSError):
                        self._workers[index] = self._replace(worker, results, Failed("worker died"))
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
            busy = [w for w in self._workers if w.job is not None]
            if not busy:
                return
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait([w.conn for w in busy], timeout=timeout)
            for index, worker in enumerate(self._workers):
                if worker.job is None:
                    continue
                if worker.conn in ready:
                    try:
                        status, value = worker.conn.recv()
                    except (EOFError, OSError):
                        self._workers[index] = self._replace(worker, results, Failed("worker died"))
                        continue
                    results[worker.job] = value if status == "ok" else Failed(value)
                    worker.job = None
                elif time.monotonic() >= worker.deadline:
                    self._workers[index] = self._replace(worker, results, TimedOut(self.timeout_s))

    def _replace(self, worker: _Worker, results: dict[int, Any], outcome: Any) -> _Worker:
        if worker.job is not None:
            results[worker.job] = outcome
        worker.kill()
        return _Worker(self._context)
