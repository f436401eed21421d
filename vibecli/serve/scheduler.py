"""One engine thread serving many HTTP requests: first come, first served, in batches.

Requests wait in one FIFO queue. The engine thread takes up to `concurrency` of them at a
time and runs them together through `Backend.stream_batch` (the backend's batching); each
request's tokens go to its own `deliver` callback as they arrive. Setting a job's `cancel`
(its client went away) stops that request alone.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from vibecli.engine.backend import Backend
from vibecli.engine.types import NO_STATS, Finished, GenerationRequest, StreamItem


class QueueFull(Exception):
    """More requests are waiting than the server accepts."""


@dataclass(eq=False)
class Job:
    request: GenerationRequest
    deliver: Callable[[StreamItem], None]  # called on the engine thread; must not block
    cancel: threading.Event = field(default_factory=threading.Event)


class Scheduler:
    """Runs submitted jobs on `backend`, `concurrency` at a time, in arrival order."""

    def __init__(self, backend: Backend, *, concurrency: int, max_queue: int) -> None:
        self.backend, self.concurrency, self.max_queue = backend, max(1, concurrency), max_queue
        self._queue: collections.deque[Job] = collections.deque()
        self._wakeup = threading.Condition()
        self._closed = False
        self._wave: list[Job] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="vibe-serve-engine")

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> int:
        return len(self._wave)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> None:
        with self._wakeup:
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} requests are already waiting")
            self._queue.append(job)
            self._wakeup.notify()

    def close(self) -> None:
        """Cancel everything, running or waiting, and stop the engine thread."""
        with self._wakeup:
            self._closed = True
            for job in self._queue:
                job.cancel.set()
            self._wakeup.notify()
        for job in self._wave:
            job.cancel.set()
        self._thread.join(timeout=30)

    def _next_wave(self) -> list[Job] | None:
        with self._wakeup:
            while not self._queue and not self._closed:
                self._wakeup.wait()
            if self._closed:
                for job in self._queue:
                    job.deliver(Finished("cancelled", "", NO_STATS))
                self._queue.clear()
                return None
            wave: list[Job] = []
            while self._queue and len(wave) < self.concurrency:
                job = self._queue.popleft()
                if job.cancel.is_set():  # its client left while it waited
                    job.deliver(Finished("cancelled", "", NO_STATS))
                else:
                    wave.append(job)
            return wave

    def _run(self) -> None:
        while (wave := self._next_wave()) is not None:
            if not wave:
                continue
            self._wave = wave
            finished: set[int] = set()
            try:
                items = self.backend.stream_batch([j.request for j in wave], cancels=[j.cancel for j in wave])
                for index, item in items:
                    wave[index].deliver(item)
                    if isinstance(item, Finished):
                        finished.add(index)
            except Exception as exc:  # an engine failure ends this wave, not the server
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                for index, job in enumerate(wave):
                    if index not in finished:
                        job.deliver(Finished("error", "", NO_STATS, error=message))
            finally:
                self._wave = []
