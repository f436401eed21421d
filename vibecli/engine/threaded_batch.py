"""A `BatchSession` over streams that batch elsewhere (a remote server): one thread a request."""

from __future__ import annotations

import collections
import itertools
import queue
import threading
from collections.abc import Callable, Iterator

from vibecli.engine.types import NO_STATS, Finished, GenerationRequest, StreamItem

StreamFn = Callable[[GenerationRequest, threading.Event], Iterator[StreamItem]]


class ThreadedBatch:
    """Runs up to `max_rows` streams at once, each read by its own thread; `step` hands over what
    arrived, waiting up to `STEP_WAIT_S` for something, so a caller's loop never spins."""

    STEP_WAIT_S = 0.1

    def __init__(self, stream: StreamFn, max_rows: int) -> None:
        self._stream = stream
        self._capacity = max(1, max_rows)
        self._handles = itertools.count()
        self._waiting: collections.deque[tuple[int, GenerationRequest, threading.Event]] = collections.deque()
        self._running: dict[int, threading.Event] = {}
        self._items: queue.Queue[tuple[int, StreamItem]] = queue.Queue()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def active(self) -> int:
        return len(self._waiting) + len(self._running)

    def add(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        handle = next(self._handles)
        self._waiting.append((handle, request, cancel or threading.Event()))
        return handle

    def step(self) -> list[tuple[int, StreamItem]]:
        out: list[tuple[int, StreamItem]] = []
        for entry in [e for e in self._waiting if e[2].is_set()]:
            self._waiting.remove(entry)
            out.append((entry[0], Finished("cancelled", "", NO_STATS)))
        while self._waiting and len(self._running) < self._capacity:
            handle, request, cancel = self._waiting.popleft()
            self._running[handle] = cancel
            threading.Thread(target=self._pump, args=(handle, request, cancel), daemon=True,
                             name="vibe-batch-stream").start()  # fmt: skip
        if self._running and not out:
            try:
                out.append(self._items.get(timeout=self.STEP_WAIT_S))
            except queue.Empty:
                return out
        while True:
            try:
                out.append(self._items.get_nowait())
            except queue.Empty:
                break
        for handle, item in out:
            if isinstance(item, Finished):
                self._running.pop(handle, None)
        return out

    def close(self) -> None:
        """Cancel every stream; their threads end within a read."""
        for cancel in self._running.values():
            cancel.set()
        self._waiting.clear()
        self._running.clear()

    def _pump(self, handle: int, request: GenerationRequest, cancel: threading.Event) -> None:
        try:
            for item in self._stream(request, cancel):
                self._items.put((handle, item))
        except Exception as exc:  # an engine error ends this request, not the batch
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._items.put((handle, Finished("error", "", NO_STATS, error=message)))
