"""The exl2 engine's continuous batch: ExLlamaV2's dynamic generator behind `BatchSession`.

The generator accepts jobs between any two `iterate()` calls, and each call prefills one chunk of
every new job and samples one token for every running one, so a `step` here is one `iterate()`.
The result dicts it returns are turned into `TextDelta`/`Finished` here and nowhere else.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from vibecli.engine.types import (
    Finished,
    FinishReason,
    GenerationRequest,
    GenerationStats,
    StreamItem,
    TextDelta,
)

EOS_REASONS: dict[str, FinishReason] = {"stop_token": "stop", "stop_string": "stop", "end_filter": "stop",
                                        "max_new_tokens": "length"}  # fmt: skip


@dataclass
class Row:
    """One request in the batch: its job, its cancel flag, and what has been streamed of it."""

    handle: int
    job: Any
    stop_strings: tuple[str, ...]
    cancel: threading.Event | None = None
    text: list[str] = field(default_factory=list)
    tokens: int = 0
    done: bool = False

    def partial(self) -> Finished:
        stats = GenerationStats(prompt_tokens=0, generated_tokens=self.tokens, ttft_s=0.0, total_s=0.0)
        return Finished("cancelled", "".join(self.text), stats)


def _held_text(result: dict[str, Any]) -> str:
    """Text the generator was still holding when a stop token came (a partial stop string, an
    incomplete character); it ends with the stop token's own piece, which is not output."""
    held = result.get("held") or {}
    text, trigger = str(held.get("text") or ""), str(result.get("eos_triggering_token_str") or "")
    return text[: -len(trigger)] if trigger and text.endswith(trigger) else text


def _cut_at_stop(text: str, stop_strings: Sequence[str]) -> str | None:
    """`text` up to the first stop string in it, or None. The generator checks `max_new_tokens`
    before stop strings, so a stop string completed by the last allowed token arrives as text."""
    hits = [i for i in (text.find(s) for s in stop_strings if s) if i >= 0]
    return text[: min(hits)] if hits else None


def translate(result: dict[str, Any], row: Row) -> list[StreamItem]:
    """One `iterate()` result dict as the engine's items (nothing for "started" and "prefill")."""
    if result.get("stage") != "streaming":
        return []
    token_ids = result.get("token_ids")
    row.tokens += int(token_ids.shape[-1]) if token_ids is not None else 0
    text = str(result.get("text") or "")
    eos, eos_reason = bool(result.get("eos")), str(result.get("eos_reason"))
    reason = EOS_REASONS.get(eos_reason, "stop")
    if eos:
        row.done = True
        row.tokens = int(result.get("new_tokens", row.tokens))
        if eos_reason == "stop_token":
            text += _held_text(result)
        elif eos_reason == "max_new_tokens":
            cut = _cut_at_stop(text, row.stop_strings)
            if cut is not None:
                text, reason = cut, "stop"
    items: list[StreamItem] = []
    if text:
        row.text.append(text)
        items.append(TextDelta(text, row.tokens))
    if eos:
        waited, prefill = float(result.get("time_enqueued", 0.0)), float(result.get("time_prefill", 0.0))
        stats = GenerationStats(
            prompt_tokens=int(result.get("prompt_tokens", 0)),
            generated_tokens=row.tokens,
            ttft_s=waited + prefill,
            total_s=waited + prefill + float(result.get("time_generate", 0.0)),
            cached_tokens=int(result.get("cached_tokens", 0)),
        )
        items.append(Finished(reason, "".join(row.text), stats))
    return items


@dataclass
class SharedGenerator:
    """One dynamic generator shared by every open batch of a backend: calls into it are serialized,
    and each result goes to the batch whose job it is (job identifiers are unique per backend)."""

    generator: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    owners: dict[int, Exl2Batch] = field(default_factory=dict)
    next_id: Iterator[int] = field(default_factory=itertools.count)


class Exl2Batch:
    """A `BatchSession` over the dynamic generator. Rows beyond `capacity` wait here, not in the
    generator, so that `max_rows` bounds what runs; the generator may still hold a started job
    back until its cache has free pages. Several batches may be open on one backend at once
    (threads, or a stream left unfinished): whichever one steps drives the generator for all of them."""

    def __init__(
        self, shared: SharedGenerator, build_job: Callable[[int, GenerationRequest], Any], capacity: int
    ) -> None:
        self._shared, self._build_job, self._capacity = shared, build_job, capacity
        self._running: dict[int, Row] = {}  # enqueued in the generator, by handle (the job's identifier)
        self._waiting: deque[Row] = deque()
        self._inbox: list[dict[str, Any]] = []  # results another batch's step received for our jobs

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def active(self) -> int:
        return len(self._running) + len(self._waiting)

    def add(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        """Admit `request`; raises EngineError, before anything is enqueued, when it cannot fit the context."""
        handle = next(self._shared.next_id)
        self._waiting.append(Row(handle, self._build_job(handle, request), request.stop_strings, cancel))
        return handle

    def step(self) -> list[tuple[int, StreamItem]]:
        out: list[tuple[int, StreamItem]] = []
        shared = self._shared
        with shared.lock:
            results, self._inbox = self._inbox, []
            for row in [*self._running.values(), *self._waiting]:
                if row.cancel is not None and row.cancel.is_set():
                    if self._running.pop(row.handle, None) is not None:
                        shared.generator.cancel(row.job)
                        shared.owners.pop(row.handle, None)
                    else:
                        self._waiting.remove(row)
                    out.append((row.handle, row.partial()))
            while self._waiting and len(self._running) < self._capacity:
                row = self._waiting.popleft()
                shared.generator.enqueue(row.job)
                shared.owners[row.handle] = self
                self._running[row.handle] = row
            if self._running and not results:
                for result in shared.generator.iterate():
                    owner = shared.owners.get(result.get("identifier", -1))
                    if owner is self:
                        results.append(result)
                    elif owner is not None:
                        owner._inbox.append(result)
            for result in results:
                live = self._running.get(result.get("identifier", -1))
                if live is None:
                    continue
                out.extend((live.handle, item) for item in translate(result, live))
                if live.done:
                    del self._running[live.handle]
                    shared.owners.pop(live.handle, None)
        return out

    def close(self) -> None:
        """Cancel what is left; idempotent."""
        with self._shared.lock:
            for row in self._running.values():
                self._shared.generator.cancel(row.job)
                self._shared.owners.pop(row.handle, None)
            self._running.clear()
            self._waiting.clear()
            self._inbox.clear()
