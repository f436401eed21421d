"""The model behind the tools: resolved at start, loaded once, generating through one scheduler.

Every `solve` streams through `SharedEngine.load()`, a `Backend` whose `stream` and
`stream_batch` submit one job per request to `vibe serve`'s scheduler, so concurrent calls (and
the samples of one call) run together on the engine's batched path and a cancelled call stops
its own generations only.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from vibecli.cli.common import load_engine
from vibecli.config import Config
from vibecli.engine.backend import Backend, BatchSession
from vibecli.engine.resolve import resolve_model
from vibecli.engine.types import Completion, Finished, GenerationRequest, Message, ModelInfo, StreamItem
from vibecli.serve.scheduler import Job, Scheduler
from vibecli.ui.console import Terminal


class ScheduledBackend:
    """A `Backend` whose generations wait their turn in `scheduler` and run in its batches.

    `for_call()` gives one tool call its own view, so that `cancel()` stops that call's
    generations at once, whether they run or still wait in the queue.
    """

    def __init__(self, backend: Backend, scheduler: Scheduler) -> None:
        self.backend, self.scheduler = backend, scheduler
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()
        self._cancelled = False

    def for_call(self) -> ScheduledBackend:
        return ScheduledBackend(self.backend, self.scheduler)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            for job in self._jobs:
                job.cancel.set()

    @property
    def info(self) -> ModelInfo:
        return self.backend.info

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        return self.backend.chat_prompt(messages)

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        """The job's items as the engine thread delivers them; raises `QueueFull` when too many wait."""
        with contextlib.closing(self.stream_batch([request], cancels=[cancel])) as items:
            for _, item in items:
                yield item

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Generator[tuple[int, StreamItem], None, None]:
        """Each request as its own job: the scheduler batches them (with other calls' jobs too).

        Raises `QueueFull` when too many wait; the jobs already queued are then cancelled.
        """
        items: queue.SimpleQueue[tuple[int, StreamItem]] = queue.SimpleQueue()
        jobs = [Job(request, deliver=functools.partial(_put, items, index), cancel=cancel or threading.Event())
                for index, (request, cancel) in enumerate(zip(requests, cancels, strict=True))]  # fmt: skip
        with self._lock:
            for job in jobs:
                if self._cancelled:
                    job.cancel.set()
                self._jobs.add(job)
        finished: set[int] = set()
        try:
            for job in jobs:
                self.scheduler.submit(job)
            while len(finished) < len(jobs):
                index, item = items.get()
                if isinstance(item, Finished):
                    finished.add(index)
                yield index, item
        finally:
            for index, job in enumerate(jobs):
                if index not in finished:  # the consumer stopped early, or the queue was full: free the rows
                    job.cancel.set()
            with self._lock:
                self._jobs.difference_update(jobs)

    # Batching is the scheduler's job: these would bypass it.
    def run_many(
        self, requests: Sequence[GenerationRequest], *, cancel: threading.Event | None = None, max_batch: int = 8
    ) -> Iterator[Completion]:
        raise NotImplementedError("use stream() or stream_batch(): the scheduler batches their requests")

    def open_batch(self, max_rows: int) -> BatchSession:
        raise NotImplementedError("use stream() or stream_batch(): the scheduler batches their requests")

    def close(self) -> None:
        """The shared engine closes the real backend; a caller's close is a no-op."""


def _put(items: queue.SimpleQueue[tuple[int, StreamItem]], index: int, item: StreamItem) -> None:
    items.put((index, item))


class SharedEngine:
    """One model for every tool call: loaded on first use (or by `load()` at start), then kept."""

    def __init__(self, config: Config, terminal: Terminal, *, concurrency: int, max_queue: int) -> None:
        self.config, self.terminal = config, terminal
        self.concurrency, self.max_queue = concurrency, max_queue
        self._lock = threading.Lock()
        self._scheduled: ScheduledBackend | None = None
        self._described: dict[str, Any] = {}

    def check(self) -> str:
        """Find the model without loading it, so a wrong --model fails at start; returns its name.

        Raises EngineError when the model cannot be found.
        """
        if self.config.backend == "openai":
            name = self.config.model or "the remote server's model"
            self._described = {"name": name, "backend": "openai", "servers": [s.url for s in self.config.base_url]}
        else:
            resolved = resolve_model(self.config)
            name = resolved.name
            self._described = {"name": name, "path": str(resolved.path), "format": resolved.format}
        return name

    @property
    def loaded(self) -> bool:
        return self._scheduled is not None

    def load(self) -> ScheduledBackend:
        """The loaded model behind the scheduler; the first call loads it (blocking, thread-safe).

        Raises VibeError (EngineError, UsageError) when the model cannot be loaded; the next
        call tries again.
        """
        with self._lock:
            if self._scheduled is None:
                backend = load_engine(self.config, self.terminal)
                scheduler = Scheduler(backend, concurrency=self.concurrency, max_queue=self.max_queue)
                scheduler.start()
                self._scheduled = ScheduledBackend(backend, scheduler)
            return self._scheduled

    def describe(self) -> dict[str, Any]:
        """The model-info resource: what is (or will be) loaded, the server's limits and its load."""
        record: dict[str, Any] = {**self._described, "loaded": self.loaded}
        scheduled = self._scheduled
        if scheduled is not None:
            info = scheduled.info
            record.update(name=info.name, path=info.path, backend=info.backend, device=info.device,
                          dtype=info.dtype, format=info.format, context_length=info.context_length,
                          notes=list(info.notes), running=scheduled.scheduler.running,
                          queued=scheduled.scheduler.queued)  # fmt: skip
        record.update(max_tokens=self.config.max_tokens, concurrency=self.concurrency, default_mode=self.config.mode)
        return record

    def drain(self, within_s: float) -> None:
        """Refuse new generations; those submitted may finish for `within_s` seconds (a shutdown)."""
        scheduled = self._scheduled
        if scheduled is not None:
            scheduled.scheduler.drain(within_s)

    def close(self) -> None:
        """Cancel what runs or waits, stop the engine thread and free the model."""
        with self._lock:
            scheduled, self._scheduled = self._scheduled, None
        if scheduled is not None:
            scheduled.scheduler.close()
            scheduled.backend.close()
