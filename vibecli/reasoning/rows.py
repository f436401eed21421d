"""The one thinking-controlled stream runner: a single solve is a batch of one row.

Each `Row` is one request under thinking controls: its splitter, its monitor, its trace, its
token counts. `run_rows` first fits every row to the model's context (`fit_request`; a prompt
that does not fit raises `ContextExceeded`, a `max_tokens` that does not fit is capped), then
runs the rows together (one row through `Backend.stream`, several through
`Backend.stream_batch`). When a row's budget, token-cap reserve, loop guard or a wrap-up fires,
that row alone stops and its answer is forced in a second phase. `Row.result` is the
`SolveResult` of a row, the same whether it ran alone or as one of K samples.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from vibecli.engine.backend import Backend, drain
from vibecli.engine.context import ContextExceeded, Fit, fit_request
from vibecli.engine.types import Finished, GenerationRequest, StreamItem
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import (
    ControlRecord,
    ThinkingControls,
    ThinkingMonitor,
    Trigger,
    continuation_request,
    controlled_finish_reason,
)
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.results import SolveResult
from vibecli.reasoning.splitter import Segment, ThinkSplitter

Phase = Literal["thinking", "answering", "done"]


@dataclass(frozen=True)
class RowText:
    """Text one row wrote, thinking or answer, with its tokens generated so far."""

    index: int
    kind: Literal["thinking", "answer"]
    text: str
    tokens: int


@dataclass(frozen=True)
class RowTick:
    """A row's progress after each delta, and once when it is done."""

    index: int
    tokens: int
    phase: Phase


@dataclass(frozen=True)
class RowNotice:
    """Something to say once before the stream (a capped `max_tokens`)."""

    text: str


RowEvent = RowText | RowTick | RowNotice


@dataclass
class Row:
    """One request as it streams under thinking controls."""

    request: GenerationRequest
    controls: ThinkingControls
    monitor: ThinkingMonitor = field(init=False)
    splitter: ThinkSplitter = field(default_factory=ThinkSplitter)
    stop: threading.Event = field(default_factory=threading.Event)
    thinking: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    offset: int = 0  # tokens generated before the current phase
    tokens: int = 0
    thinking_tokens: int = 0
    trigger: Trigger | None = None
    trigger_tokens: int = 0
    record: ControlRecord | None = None
    phases: list[Finished] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)  # the watched phase's text up to its trigger
    raw: list[str] = field(default_factory=list)  # everything the model wrote and was kept, tags included
    prompt_request: GenerationRequest | None = None  # the fitted first request, for prompt tokens
    fitted: Fit | None = None  # fitted already (a batch fits a problem once for all its samples)
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        self.monitor = ThinkingMonitor(self.controls, self.request.max_new_tokens)

    @property
    def live_thinking(self) -> bool:
        return self.trigger is None and not self.splitter.in_answer and not self.phases

    def fit(self, backend: Backend) -> str | None:
        """Fit the request to the context (raises `ContextExceeded`); the notice when capped."""
        fit = self.fitted or fit_request(backend, self.request)
        if self.fitted is not None:
            fit = dataclasses.replace(
                fit, request=dataclasses.replace(self.request, max_new_tokens=fit.request.max_new_tokens)
            )
        self.request = self.prompt_request = fit.request
        self.monitor = ThinkingMonitor(self.controls, fit.request.max_new_tokens, fit=fit)
        return fit.notice() if fit.capped else None

    def fire(self, trigger: Trigger, tokens: int) -> None:
        self.trigger, self.trigger_tokens = trigger, tokens
        self.record = self.monitor.record(trigger, tokens)
        self.stop.set()

    def route(self, index: int, segments: Sequence[Segment], tokens: int) -> Iterator[RowText]:
        for segment in segments:
            if segment.kind == "thinking":
                self.thinking.append(segment.text)
                yield RowText(index, "thinking", segment.text, tokens)
            else:
                self.answer.append(segment.text)
                yield RowText(index, "answer", segment.text, tokens)

    def _prompt_tokens(self, backend: Backend) -> int:
        # The watched phase's own count; counted here when it has none (a remote stream cut by a
        # control ends before the server's usage arrives) or when no phase was watched (budget 0).
        watched = self.phases[0].stats if self.phases and self.controls.budget != 0 else None
        if watched is not None and watched.prompt_tokens:
            return watched.prompt_tokens
        request = self.prompt_request or self.request
        prompt = request.prompt if request.prompt is not None else backend.chat_prompt(request.messages)
        return backend.count_tokens(prompt)

    def generated_tokens(self) -> int:
        counts = [phase.stats.generated_tokens for phase in self.phases]
        if counts and self.trigger is not None and self.controls.budget != 0:
            # A batched row or a remote stream runs on a few tokens past the trigger; their text was
            # dropped, so they are in neither the thinking nor the answer.
            counts[0] = self.trigger_tokens
        return sum(counts)

    def ended_cancelled(self, cancel: threading.Event) -> bool:
        """Whether this row, now done, was cancelled: its last phase was, or a control cut it and
        the answer it needed was never forced because everything was cancelled."""
        last = self.phases[-1] if self.phases else None
        unforced = self.trigger is not None and len(self.phases) < (1 if self.controls.budget == 0 else 2)
        return (last is not None and last.reason == "cancelled") or (unforced and cancel.is_set())

    def result(self, problem: str, template: PromptTemplate, backend: Backend, *, cancelled: bool) -> SolveResult:
        generated = self.generated_tokens()
        thinking_text = "".join(self.thinking)
        if self.trigger is not None:
            thinking_tokens = self.trigger_tokens
        else:
            thinking_tokens = min(self.thinking_tokens, generated) if thinking_text else 0
        first = self.phases[0].stats if self.phases else None
        total_s = time.perf_counter() - self.started
        ttft_s = first.ttft_s if first else total_s
        record = self.record or self.monitor.record()
        if self.trigger is not None:
            record = dataclasses.replace(record, answer_tokens_after_trigger=generated - thinking_tokens)
        answer_text = "".join(self.answer)
        info = backend.info
        errors = [phase.error for phase in self.phases if phase.error]
        return SolveResult(
            problem=problem,
            mode=template.name,
            model=info.name,
            backend=info.backend,
            thinking=thinking_text,
            answer=answer_text,
            final_answer=extract_answer(answer_text, template.answer_format),
            finish_reason=controlled_finish_reason(
                self.phases[-1] if self.phases else None, self.trigger, cancelled=cancelled
            ),
            prompt_tokens=self._prompt_tokens(backend),
            thinking_tokens=thinking_tokens,
            answer_tokens=generated - thinking_tokens,
            ttft_s=ttft_s,
            total_s=total_s,
            tokens_per_s=(generated - 1) / (total_s - ttft_s) if generated > 1 and total_s > ttft_s else 0.0,
            controls=record,
            error=errors[0] if errors else None,
            cached_tokens=sum(phase.stats.cached_tokens for phase in self.phases),
            engine_notes=info.notes,
            seed=(self.prompt_request or self.request).sampling.seed,
        )


def run_rows(
    backend: Backend,
    rows: Sequence[Row],
    *,
    cancel: threading.Event,
    wrap_up: threading.Event,
    max_rows: int | None = None,
) -> Iterator[RowEvent]:
    """Run `rows` under their thinking controls; yield their text and progress as it comes.

    Every row is fitted first (raises `ContextExceeded` before any model work). `cancel` stops
    every row; `wrap_up` forces the answer of the rows still thinking, and, pressed when no row
    is thinking any more, cancels (the second press of Ctrl-C, as a single solve has it).

    With `max_rows` (a problem set), the rows run in the backend's continuous batch, at most
    `max_rows` at once: a finished row's place goes to the next at once, and a row cut by a
    control has its answer forced in the same batch, so each row is done as early as it can be.
    Otherwise they run together in phases: the watched phase, then the forced answers.
    """
    notices = {notice for row in rows if (notice := row.fit(backend)) is not None}
    for notice in sorted(notices):
        yield RowNotice(notice)
    for row in rows:
        if row.controls.budget == 0:
            row.fire("budget", 0)  # no thinking at all: force the answer straight away
    if max_rows is not None:
        yield from _continuous(backend, rows, max_rows, cancel=cancel)
        return
    watched = [index for index, row in enumerate(rows) if row.trigger is None]
    if watched:
        yield from _phase(backend, rows, watched, watch=True, cancel=cancel, wrap_up=wrap_up)
    if any(row.trigger == "interrupt" for row in rows):
        wrap_up.clear()  # that press is spent; a new one during the answer cancels
    runnable = []
    for index, row in enumerate(rows):
        if row.trigger is not None and not cancel.is_set() and not (row.phases and row.phases[-1].reason == "error"):
            fits = yield from _force(backend, row, index)
            if fits:
                runnable.append(index)
    if runnable:
        yield from _phase(backend, rows, runnable, watch=False, cancel=cancel, wrap_up=wrap_up)


def _force(backend: Backend, row: Row, index: int) -> Generator[RowEvent, None, bool]:
    """Make `row`'s forced-answer request (its trace, then the wrap-up text); False when no answer fits."""
    used = row.trigger_tokens  # what was read before the control fired (a remote stream may run on)
    injected = row.monitor.injected_text()
    row.raw.append(injected)
    yield from row.route(index, row.splitter.feed(injected), used)
    request = row.request
    base = request.prompt if request.prompt is not None else backend.chat_prompt(request.messages)
    forced_request = continuation_request(request, base_prompt=base, partial_trace="".join(row.trace),
                                          injected=injected, used_tokens=used)  # fmt: skip
    try:  # the trace and the wrap-up text now sit in the prompt: cap again to what fits
        row.request = fit_request(backend, forced_request).request
    except ContextExceeded:
        yield RowTick(index, used, "done")
        return False  # no room left for an answer; the result says so (no final answer)
    row.offset = used
    row.stop = threading.Event()
    return True


def _continuous(backend: Backend, rows: Sequence[Row], max_rows: int, *, cancel: threading.Event) -> Iterator[RowEvent]:
    session = backend.open_batch(max_rows)
    try:
        running: dict[int, tuple[int, bool]] = {}  # session handle -> (row index, watched phase)
        for index, row in enumerate(rows):
            if row.trigger is None:
                running[session.add(row.request, row.stop)] = (index, True)
            else:
                fits = yield from _force(backend, row, index)
                if fits:
                    running[session.add(row.request, row.stop)] = (index, False)
        for handle, item in drain(session):
            index, watch = running[handle]
            row = rows[index]
            if cancel.is_set():
                for other in rows:
                    other.stop.set()
            yield from _step(rows, [index], index, item, watch=watch, cancel=cancel, wrap_up=None)
            if isinstance(item, Finished) and watch and row.trigger is not None:
                if item.reason != "error" and not cancel.is_set() and (yield from _force(backend, row, index)):
                    running[session.add(row.request, row.stop)] = (index, False)
                elif item.reason == "error" or cancel.is_set():
                    yield RowTick(index, row.tokens, "done")  # it ends here: failed or cancelled
    finally:
        session.close()


def _items(backend: Backend, rows: Sequence[Row], indexes: list[int]) -> Iterator[tuple[int, StreamItem]]:
    if len(indexes) == 1:
        row = rows[indexes[0]]
        for item in backend.stream(row.request, cancel=row.stop):
            yield indexes[0], item
        return
    requests = [rows[i].request for i in indexes]
    for position, item in backend.stream_batch(requests, cancels=[rows[i].stop for i in indexes]):
        yield indexes[position], item


def _phase(
    backend: Backend, rows: Sequence[Row], indexes: list[int], *, watch: bool, cancel: threading.Event,
    wrap_up: threading.Event,
) -> Iterator[RowEvent]:  # fmt: skip
    finished: set[int] = set()
    for index, item in _items(backend, rows, indexes):
        yield from _step(rows, indexes, index, item, watch=watch, cancel=cancel, wrap_up=wrap_up)
        if isinstance(item, Finished):
            finished.add(index)
            if len(finished) == len(indexes):
                break  # a single stream ends with its Finished; nothing more will come


def _step(
    rows: Sequence[Row], indexes: list[int], index: int, item: StreamItem, *, watch: bool, cancel: threading.Event,
    wrap_up: threading.Event | None,
) -> Iterator[RowEvent]:  # fmt: skip
    """One item of one row's stream: route its text, count its tokens, watch its thinking."""
    row = rows[index]
    if isinstance(item, Finished):
        row.phases.append(item)
        if not watch or row.trigger is None:
            row.offset += item.stats.generated_tokens
            row.tokens = row.offset
            yield from row.route(index, row.splitter.finish(), row.tokens)
            yield RowTick(index, row.tokens, "done")
        else:
            row.offset = row.tokens = row.trigger_tokens
        return
    if row.stop.is_set():
        return  # a remote stream or a batched row runs on past a stop: that text is dropped
    if watch:
        row.trace.append(item.text)
    row.raw.append(item.text)
    tokens = row.tokens = row.offset + item.generated_tokens
    was_answer = row.splitter.in_answer
    segments = row.splitter.feed(item.text)
    yield from row.route(index, segments, tokens)
    if not was_answer:
        row.thinking_tokens = tokens  # up to and including the delta that closed the thinking
    pressed = wrap_up is not None and wrap_up.is_set()
    if cancel.is_set() or (row.splitter.in_answer and pressed and not _wrapping_up(rows, indexes, watch)):
        cancel.set()
        for i in indexes:
            rows[i].stop.set()
    elif watch and not row.splitter.in_answer and row.trigger is None:
        new_thinking = "".join(seg.text for seg in segments if seg.kind == "thinking")
        trigger = row.monitor.check(tokens, new_thinking, wrap_up=pressed)
        if trigger is not None:
            row.fire(trigger, tokens)
    yield RowTick(index, row.tokens, "answering" if row.splitter.in_answer else "thinking")


def _wrapping_up(rows: Sequence[Row], indexes: list[int], watch: bool) -> bool:
    """Whether a wrap-up press is still being spent on rows that think: then it cancels nothing."""
    if not watch:
        return False
    return any(rows[i].trigger == "interrupt" or (rows[i].live_thinking) for i in indexes)
