"""Self-consistency for one problem: K samples in one batch, then a vote (`vibe solve --samples K`).

The K requests differ only in their seed (SEED, SEED+1, …) and run together through the
backend's batched stream. Each row has its own thinking controls, as a single solve has: when
its budget, the token-cap reserve or the loop guard fires, that row alone stops and its
answer is forced in a second batch. Answers are then clustered by mathematical equivalence
and the largest cluster wins (ties: the cluster whose first sample came first). In code mode
with tests, the first sample that passes every test wins instead.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vibecli.batch.vote import Vote, vote
from vibecli.engine.backend import Backend
from vibecli.engine.types import Finished, FinishReason, GenerationRequest, TextDelta
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import (
    ThinkingControls,
    ThinkingMonitor,
    Trigger,
    continuation_request,
    controlled_finish_reason,
)
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.splitter import ThinkSplitter

Phase = Literal["thinking", "answering", "done"]


@dataclass(frozen=True)
class SampleUpdate:
    """Progress of one sample, for a live view."""

    index: int
    tokens: int
    phase: Phase
    final_answer: str | None = None
    finish_reason: FinishReason | None = None


@dataclass(frozen=True)
class Sample:
    """One finished sample."""

    index: int
    seed: int | None
    thinking: str
    answer: str
    final_answer: str | None
    finish_reason: FinishReason
    tokens: int
    thinking_tokens: int
    trigger: Trigger | None = None
    check: Any = None  # a verify.solution.SolutionCheck in code mode with tests

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "index": self.index,
            "seed": self.seed,
            "final_answer": self.final_answer,
            "finish_reason": self.finish_reason,
            "tokens": self.tokens,
            "thinking_tokens": self.thinking_tokens,
        }
        if self.check is not None:
            record["tests"] = {"passed": self.check.record.get("passed"), "total": self.check.record.get("total")}
        return record


@dataclass(frozen=True)
class SamplesResult:
    """K samples of one problem and the answer they settle on; `to_json` is the `--json` schema."""

    problem: str
    mode: str
    model: str
    backend: str
    samples: tuple[Sample, ...]
    vote: Vote
    winner: int | None  # index of the sample whose answer is shown
    chosen_by: Literal["vote", "tests"]
    total_s: float
    check: Any = None  # the verdict of --expected / --tests on the chosen answer

    @property
    def final_answer(self) -> str | None:
        return self.samples[self.winner].final_answer if self.winner is not None else None

    @property
    def cancelled(self) -> bool:
        return any(s.finish_reason == "cancelled" for s in self.samples)

    def tally(self) -> str:
        """`85 ×6 · 84 ×1 · no answer ×1`, or each sample's tests in code mode."""
        if self.chosen_by == "tests":
            return " · ".join(f"#{s.index + 1} {_passed(s)}" for s in self.samples)
        parts = [f"{_short(self.samples[c[0]].final_answer)} ×{len(c)}" for c in self.vote.clusters]
        missing = sum(s.final_answer is None for s in self.samples)
        return " · ".join([*parts, *([f"no answer ×{missing}"] if missing else [])])

    def to_json(self) -> dict[str, Any]:
        chosen = self.samples[self.winner] if self.winner is not None else None
        return {
            "problem": self.problem,
            "mode": self.mode,
            "model": self.model,
            "backend": self.backend,
            "final_answer": self.final_answer,
            "thinking": chosen.thinking if chosen else "",
            "answer": chosen.answer if chosen else "",
            "finish_reason": chosen.finish_reason if chosen else "stop",
            "timings": {"total_s": round(self.total_s, 4)},
            "samples": [s.to_json() for s in self.samples],
            "vote": {
                "answer": self.final_answer,
                "size": self.vote.size,
                "k": len(self.samples),
                "chosen_by": self.chosen_by,
                "winner": self.winner,
                "clusters": [
                    {"answer": self.samples[c[0]].final_answer, "samples": list(c)} for c in self.vote.clusters
                ],
                "tally": self.tally(),
            },
            "verification": self.check.record if self.check is not None else None,
        }


def _short(answer: str | None) -> str:
    text = " ".join((answer or "").split())
    return text if len(text) <= 40 else text[:39] + "…"


def _passed(sample: Sample) -> str:
    if sample.check is None:
        return "no code"
    return f"{sample.check.record.get('passed', 0)}/{sample.check.record.get('total', 0)}"


@dataclass
class _Row:
    """One sample as it streams: its splitter, its monitor, what it has said."""

    request: GenerationRequest
    monitor: ThinkingMonitor
    splitter: ThinkSplitter = field(default_factory=ThinkSplitter)
    stop: threading.Event = field(default_factory=threading.Event)
    thinking: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    offset: int = 0  # tokens generated before the current phase
    tokens: int = 0
    thinking_tokens: int = 0
    trigger: Trigger | None = None
    phases: list[Finished] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)  # the watched phase's text up to its trigger

    def feed(self, delta: TextDelta, *, watch: bool, wrap_up: bool) -> Phase:
        if watch and self.trigger is not None:
            return "thinking"  # a batched row or a remote stream runs on past the trigger: that text is dropped
        if watch:
            self.trace.append(delta.text)
        self.tokens = self.offset + delta.generated_tokens
        was_answer = self.splitter.in_answer
        new_thinking = self._route(self.splitter.feed(delta.text))
        if not was_answer:
            self.thinking_tokens = self.tokens
        if watch and not self.splitter.in_answer and self.trigger is None:
            self.trigger = self.monitor.check(self.tokens, new_thinking, wrap_up=wrap_up)
            if self.trigger is not None:
                self.stop.set()
        return "answering" if self.splitter.in_answer else "thinking"

    def finish_phase(self, finished: Finished, *, watch: bool) -> None:
        self.phases.append(finished)
        if watch and self.trigger is not None:
            self.offset = self.tokens  # cut by a control: the phase counts up to the trigger, where feed stopped
        else:
            self.offset += finished.stats.generated_tokens
        self.tokens = self.offset
        if not watch or self.trigger is None:
            self._route(self.splitter.finish())

    def _route(self, segments: Sequence[Any]) -> str:
        new_thinking = []
        for segment in segments:
            (self.thinking if segment.kind == "thinking" else self.answer).append(segment.text)
            if segment.kind == "thinking":
                new_thinking.append(segment.text)
        return "".join(new_thinking)

    def reason(self, cancelled: bool) -> FinishReason:
        return controlled_finish_reason(self.phases[-1] if self.phases else None, self.trigger, cancelled=cancelled)


def sample_requests(request: GenerationRequest, k: int, seed: int | None) -> list[GenerationRequest]:
    """`k` copies of `request` with seeds SEED, SEED+1, … (SEED defaults to 0, as in `vibe batch`)."""
    base = seed or 0
    return [
        dataclasses.replace(request, sampling=dataclasses.replace(request.sampling, seed=base + i), request_id=str(i))
        for i in range(k)
    ]


def generate_samples(
    backend: Backend,
    template: PromptTemplate,
    requests: Sequence[GenerationRequest],
    *,
    controls: ThinkingControls,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
) -> Iterator[SampleUpdate | list[Sample]]:
    """Run `requests` as one batch with per-row thinking controls; yield progress, then the samples."""
    cancel, wrap_up = cancel or threading.Event(), wrap_up or threading.Event()
    rows = [_Row(r, ThinkingMonitor(controls, r.max_new_tokens)) for r in requests]
    if controls.budget == 0:  # no thinking at all: every answer is forced straight away
        for row in rows:
            row.trigger, row.thinking_tokens = "budget", 0
    else:
        yield from _run_phase(backend, rows, list(range(len(rows))), template.answer_format, watch=True,
                              cancel=cancel, wrap_up=wrap_up)  # fmt: skip
    forced = [i for i, row in enumerate(rows) if row.trigger is not None and not cancel.is_set()
              and not (row.phases and row.phases[-1].reason == "error")]  # fmt: skip
    for i in forced:
        row = rows[i]
        injected = row.monitor.injected_text()
        row._route(row.splitter.feed(injected))
        request = row.request
        base = request.prompt if request.prompt is not None else backend.chat_prompt(request.messages)
        partial = "".join(row.trace)
        row.request = continuation_request(request, base_prompt=base, partial_trace=partial, injected=injected,
                                           used_tokens=row.offset)  # fmt: skip
        row.stop = threading.Event()
    if forced:
        yield from _run_phase(backend, rows, forced, template.answer_format, watch=False, cancel=cancel,
                              wrap_up=wrap_up)  # fmt: skip
    yield [_sample(i, row, template, cancel.is_set()) for i, row in enumerate(rows)]


def _run_phase(
    backend: Backend, rows: list[_Row], indexes: list[int], answer_format: str, *, watch: bool,
    cancel: threading.Event, wrap_up: threading.Event,
) -> Iterator[SampleUpdate]:  # fmt: skip
    stops = [rows[i].stop for i in indexes]
    for position, item in backend.stream_batch([rows[i].request for i in indexes], cancels=stops):
        row, index = rows[indexes[position]], indexes[position]
        if cancel.is_set():
            for stop in stops:
                stop.set()
        if isinstance(item, Finished):
            row.finish_phase(item, watch=watch)
            done = not watch or row.trigger is None
            if done:
                answer = extract_answer("".join(row.answer), answer_format)
                yield SampleUpdate(index, row.tokens, "done", answer, row.reason(cancel.is_set()))
            continue
        phase = row.feed(item, watch=watch, wrap_up=wrap_up.is_set())
        yield SampleUpdate(index, row.tokens, phase)


def _sample(index: int, row: _Row, template: PromptTemplate, cancelled: bool) -> Sample:
    return Sample(
        index=index,
        seed=row.request.sampling.seed,
        thinking="".join(row.thinking),
        answer="".join(row.answer),
        final_answer=extract_answer("".join(row.answer), template.answer_format),
        finish_reason=row.reason(cancelled),
        tokens=row.tokens,
        thinking_tokens=row.thinking_tokens,
        trigger=row.trigger,
    )


def choose(
    samples: list[Sample], *, same: Callable[[str, str], bool], check_code: Callable[[str | None], Any] | None = None
) -> tuple[list[Sample], Vote, int | None, Literal["vote", "tests"]]:
    """The vote over `samples`; with `check_code` (code mode with tests), the first sample that
    passes every test wins, else the one that passes most."""
    if check_code is not None:
        checked = [dataclasses.replace(s, check=check_code(s.final_answer)) for s in samples]
        passed = [s.check.record.get("passed", 0) for s in checked]
        full = [s.index for s in checked if s.check.verdict == "passed"]
        winner = full[0] if full else max(range(len(checked)), key=lambda i: (passed[i], -i))
        return checked, vote([], same), winner, "tests"
    chosen = vote([s.final_answer for s in samples], same)
    return samples, chosen, chosen.clusters[0][0] if chosen.clusters else None, "vote"


def solve_samples(
    backend: Backend,
    template: PromptTemplate,
    problem: str,
    *,
    request: GenerationRequest,
    k: int,
    controls: ThinkingControls,
    same: Callable[[str, str], bool],
    check_code: Callable[[str | None], Any] | None = None,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
) -> Iterator[SampleUpdate | SamplesResult]:
    """K samples of `problem` (seeds from `request.sampling.seed`), then the `SamplesResult`.

    Args:
        same: whether two final answers are equivalent (vibe's math checker), for clustering.
        check_code: runs one sample's code against the tests (code mode with `--tests`).
    """
    started = time.perf_counter()
    samples: list[Sample] = []
    how: Literal["vote", "tests"]
    requests = sample_requests(request, k, request.sampling.seed)
    for event in generate_samples(backend, template, requests, controls=controls, cancel=cancel, wrap_up=wrap_up):
        if isinstance(event, list):
            samples = event
        else:
            yield event
    if any(s.finish_reason == "cancelled" for s in samples):
        samples_out, chosen, winner, how = samples, vote([], same), None, "vote"  # no vote over partial samples
    else:
        samples_out, chosen, winner, how = choose(samples, same=same, check_code=check_code)
    info = backend.info
    yield SamplesResult(problem=problem, mode=template.name, model=info.name, backend=info.backend,
                        samples=tuple(samples_out), vote=chosen, winner=winner, chosen_by=how,
                        total_s=time.perf_counter() - started)  # fmt: skip
