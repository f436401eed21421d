"""One engine thread serving many HTTP requests through one continuous batch.

Requests wait in one FIFO queue. Between steps of the backend's `BatchSession`, the engine
thread admits waiting requests while fewer than `concurrency` run, so a new request starts
within one step instead of waiting for a batch to drain; a finished one leaves at once.
Each request's tokens go to its own `deliver` callback as they arrive. Setting a job's
`cancel` (its client went away) ends that request alone within one step.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vibecli.engine.backend import Backend, BatchSession
from vibecli.engine.types import NO_STATS, Finished, GenerationRequest, StreamItem


class QueueFull(Exception):
    """More requests are waiting than the server accepts, or the server is shutting down."""


@dataclass(eq=False)
class Job:
    request: GenerationRequest
    deliver: Callable[[StreamItem], None]  # called on the engine thread; must not block
    cancel: threading.Event = field(default_factory=threading.Event)


class Scheduler:
    """Runs submitted jobs on `backend`, up to `concurrency` at once, admitted in arrival order."""

    def __init__(self, backend: Backend, *, concurrency: int, max_queue: int) -> None:
        self.backend, self.concurrency, self.max_queue = backend, max(1, concurrency), max_queue
        self._queue: collections.deque[Job] = collections.deque()
        self._running: dict[int, Job] = {}
        self._wakeup = threading.Condition()
        self._closed = False
        self._drain_deadline: float | None = None  # set by `drain`: cancel what still runs then
        self._thread = threading.Thread(target=self._run, daemon=True, name="vibe-serve-engine")

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> None:
        with self._wakeup:
            if self._closed or self._drain_deadline is not None:
                raise QueueFull("the server is shutting down")
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} requests are already waiting")
            self._queue.append(job)
            self._wakeup.notify()

    def drain(self, within_s: float) -> None:
        """Refuse new jobs; let those submitted finish for `within_s` seconds, then cancel the rest."""
        with self._wakeup:
            if self._drain_deadline is None:
                self._drain_deadline = time.monotonic() + max(0.0, within_s)
            self._wakeup.notify()

    def close(self) -> None:
        """Cancel everything, running or waiting, and stop the engine thread."""
        with self._wakeup:
            self._closed = True
            for job in [*self._queue, *self._running.values()]:
                job.cancel.set()
            self._wakeup.notify()
        self._thread.join(timeout=30)

    def _admit(self, session: BatchSession) -> bool:
        """Move waiting jobs into the batch while rows are free; False once closed."""
        with self._wakeup:
            while not self._queue and not self._running and not self._closed:
                self._wakeup.wait(timeout=self._wait_s())
                self._cancel_past_deadline()
            if self._closed:
                for job in self._queue:
                    job.deliver(Finished("cancelled", "", NO_STATS))
                self._queue.clear()
                return bool(self._running)
            self._cancel_past_deadline()
            while self._queue and len(self._running) < self.concurrency:
                job = self._queue.popleft()
                if job.cancel.is_set():  # its client left while it waited
                    job.deliver(Finished("cancelled", "", NO_STATS))
                    continue
                self._running[session.add(job.request, job.cancel)] = job
            return True

    def _wait_s(self) -> float | None:
        return None if self._drain_deadline is None else max(0.05, self._drain_deadline - time.monotonic())

    def _cancel_past_deadline(self) -> None:
        if self._drain_deadline is not None and time.monotonic() >= self._drain_deadline:
            for job in [*self._queue, *self._running.values()]:
                job.cancel.set()

    def _run(self) -> None:
        while True:
            try:
                session = self.backend.open_batch(self.concurrency)
            except Exception as exc:  # the engine cannot batch at all: every job fails with the reason
                self._fail_all(exc)
                return
            try:
                if self._serve(session):
                    return
            except Exception as exc:  # an engine failure ends the running requests, not the server
                self._fail_running(exc)
            finally:
                session.close()

    def _serve(self, session: BatchSession) -> bool:
        """Admit and step until closed (True); a failing step raises, and a new session takes over."""
        while self._admit(session):
            if not self._running:
                continue
            for handle, item in session.step():
                job = self._running[handle]
                if isinstance(item, Finished):
                    del self._running[handle]
                job.deliver(item)
        return True

    def _fail_running(self, exc: Exception) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        for job in self._running.values():
            job.deliver(Finished("error", "", NO_STATS, error=message))
        self._running.clear()

    def _fail_all(self, exc: Exception) -> None:
        while True:
            with self._wakeup:
                while not self._queue and not self._closed:
                    self._wakeup.wait()
                jobs = list(self._queue)
                self._queue.clear()
                closed = self._closed
            for job in jobs:
                self._running[id(job)] = job
            self._fail_running(exc)
            if closed:
                return
