"""Solving one problem: template, generate, split the stream, extract the final answer.

`solve_stream` checks the request against the model's context first (a prompt that does not
fit raises `ContextExceeded` before any model work; a `max_tokens` that does not fit is capped,
with one `Notice`), then yields `ThinkingDelta` and `AnswerDelta` events as the model writes,
then one `SolveResult`. It knows nothing about terminals; the UI consumes its events.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vibecli.config import Config
from vibecli.engine.backend import Backend
from vibecli.engine.context import ContextExceeded, fit_request
from vibecli.engine.types import Finished, FinishReason, GenerationRequest, Message, Sampling
from vibecli.errors import UsageError
from vibecli.prompting.routing import route
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import (
    DEFAULT_BUDGET_MESSAGE,
    ControlRecord,
    ThinkingControls,
    ThinkingMonitor,
    Trigger,
    continuation_request,
    controlled_finish_reason,
)
from vibecli.reasoning.extract import extract_answer
from vibecli.reasoning.loop_guard import LoopGuardSettings
from vibecli.reasoning.splitter import Segment, ThinkSplitter

ROUTE_CHARS = 16_000


@dataclass(frozen=True)
class ThinkingDelta:
    text: str
    tokens: int  # generated so far


@dataclass(frozen=True)
class AnswerDelta:
    text: str
    tokens: int


@dataclass(frozen=True)
class Notice:
    """Something the user should hear once, before the stream (e.g. `max_tokens` was capped)."""

    text: str


@dataclass(frozen=True)
class SolveResult:
    """Everything about one solved problem; `to_json` is the `--json` schema."""

    problem: str
    mode: str
    model: str
    backend: str
    thinking: str
    answer: str
    final_answer: str | None
    finish_reason: FinishReason
    prompt_tokens: int
    thinking_tokens: int
    answer_tokens: int
    ttft_s: float
    total_s: float
    tokens_per_s: float
    controls: ControlRecord | None = None
    check: Any = None  # a verify.solution.SolutionCheck when --expected or --tests was given
    error: str | None = None
    cached_tokens: int = 0  # prompt tokens the engine took from its prefix cache, over all phases
    engine_notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "mode": self.mode,
            "model": self.model,
            "backend": self.backend,
            "thinking": self.thinking,
            "answer": self.answer,
            "final_answer": self.final_answer,
            "finish_reason": self.finish_reason,
            "tokens": {"prompt": self.prompt_tokens, "thinking": self.thinking_tokens, "answer": self.answer_tokens},
            "timings": {
                "ttft_s": round(self.ttft_s, 4),
                "total_s": round(self.total_s, 4),
                "tokens_per_s": round(self.tokens_per_s, 2),
            },
            "controls": self.controls.to_json() if self.controls else None,
            "verification": self.check.record if self.check is not None else None,
        }


SolveEvent = ThinkingDelta | AnswerDelta | Notice | SolveResult


def select_template(mode: str, problem: str, templates: dict[str, PromptTemplate]) -> PromptTemplate:
    """The template for `mode`; `auto` routes by the problem's content (its head and tail, so a
    huge input costs no more than a long problem)."""
    sample = problem if len(problem) <= 2 * ROUTE_CHARS else problem[:ROUTE_CHARS] + "\n" + problem[-ROUTE_CHARS:]
    name = route(sample) if mode == "auto" else mode
    if name not in templates:
        raise UsageError(f"unknown mode '{name}' (available: auto, {', '.join(sorted(templates))})")
    return templates[name]


def sampling_for(template: PromptTemplate, config: Config) -> Sampling:
    """The template's defaults, overridden by whatever the user set."""
    defaults = template.sampling
    temperature = config.temperature if config.temperature is not None else defaults.get("temperature", 1.0)
    top_p = config.top_p if config.top_p is not None else defaults.get("top_p", 0.95)
    top_k = config.top_k if config.top_k is not None else int(defaults.get("top_k", 0))
    return Sampling(temperature=temperature, top_p=top_p, top_k=top_k, seed=config.seed)


def controls_for(template: PromptTemplate, config: Config) -> ThinkingControls:
    """Thinking controls: the user's budget, else the template's; loop guard as configured."""
    budget = config.think_budget if config.think_budget is not None else template.think_budget
    return ThinkingControls(
        budget=budget,
        budget_message=config.budget_message or DEFAULT_BUDGET_MESSAGE,
        loop_guard=LoopGuardSettings() if config.loop_guard else None,
    )


def build_request(
    template: PromptTemplate,
    problem: str,
    *,
    sampling: Sampling,
    max_tokens: int,
    starter_code: str | None = None,
    history: tuple[Message, ...] = (),
) -> GenerationRequest:
    """The request for `problem`, after earlier turns of a conversation (`history`)."""
    messages = [*history, Message("user", template.render(problem, starter_code=starter_code))]
    if template.system:
        messages.insert(0, Message("system", template.system))
    return GenerationRequest(messages=tuple(messages), sampling=sampling, max_new_tokens=max_tokens)


def solve_stream(
    backend: Backend,
    template: PromptTemplate,
    problem: str,
    *,
    request: GenerationRequest,
    controls: ThinkingControls | None = None,
    cancel: threading.Event | None = None,
    wrap_up: threading.Event | None = None,
) -> Iterator[SolveEvent]:
    """Run `request` and yield thinking and answer deltas, then the `SolveResult`.

    Raises `ContextExceeded` (a usage error) when the prompt does not fit the model's context.

    Args:
        controls: thinking budget, loop guard and wrap-up message (default: loop guard on, no budget).
        cancel: set to stop generating altogether (finish reason `cancelled`).
        wrap_up: set to end the thinking now and force the answer; set during the answer, it cancels.
    """
    run = _Run(backend, request, controls or ThinkingControls(), cancel, wrap_up)
    yield from run.execute()
    yield run.result(problem, template)


class _Run:
    """One solve: stream, watch the thinking, force the answer if a control fires."""

    def __init__(
        self,
        backend: Backend,
        request: GenerationRequest,
        controls: ThinkingControls,
        cancel: threading.Event | None,
        wrap_up: threading.Event | None,
    ) -> None:
        self.backend = backend
        self.request = request
        self.cancel = cancel or threading.Event()
        self.wrap_up = wrap_up or threading.Event()
        self.monitor = ThinkingMonitor(controls, request.max_new_tokens)
        self.splitter = ThinkSplitter()
        self.thinking: list[str] = []
        self.answer: list[str] = []
        self.thinking_tokens = 0
        self.trigger: Trigger | None = None
        self.trigger_tokens = 0
        self.record: ControlRecord | None = None
        self.phases: list[Finished] = []
        self.trace: list[str] = []  # the first phase's text up to the moment a control fired
        self.started = time.perf_counter()

    def execute(self) -> Iterator[SolveEvent]:
        fit = fit_request(self.backend, self.request)  # before any model work; raises ContextExceeded
        request = self.request = fit.request
        self.monitor = ThinkingMonitor(self.monitor.controls, request.max_new_tokens, fit=fit)
        if fit.capped:
            yield Notice(fit.notice())
        if self.monitor.controls.budget == 0:
            self._fire("budget", 0)  # no thinking at all: force the answer straight away
        else:
            yield from self._phase(request, offset=0, watch=True)
        if self.trigger is None or self.cancel.is_set() or (self.phases and self.phases[-1].reason == "error"):
            return
        used = self.trigger_tokens  # what was read before the control fired (a remote stream may run on)
        injected = self.monitor.injected_text()
        yield from self._route(self.splitter.feed(injected), used)
        base = request.prompt if request.prompt is not None else self.backend.chat_prompt(request.messages)
        partial = "".join(self.trace)
        forced = continuation_request(
            request, base_prompt=base, partial_trace=partial, injected=injected, used_tokens=used
        )
        try:  # the trace and the wrap-up text now sit in the prompt: cap again to what fits
            forced = fit_request(self.backend, forced).request
        except ContextExceeded:
            return  # no room left for an answer; the result says so (no final answer)
        yield from self._phase(forced, offset=used, watch=False)

    def _phase(self, request: GenerationRequest, *, offset: int, watch: bool) -> Iterator[SolveEvent]:
        stop = threading.Event()
        for item in self.backend.stream(request, cancel=stop):
            if isinstance(item, Finished):
                self.phases.append(item)
                break
            if stop.is_set():
                continue  # a remote stream still delivers what it had buffered: past a trigger it is dropped
            if watch:
                self.trace.append(item.text)
            tokens = offset + item.generated_tokens
            was_answer = self.splitter.in_answer
            segments = self.splitter.feed(item.text)
            yield from self._route(segments, tokens)
            if not was_answer:
                self.thinking_tokens = tokens  # up to and including the delta that closed the thinking
            if self.cancel.is_set() or (self.splitter.in_answer and self.wrap_up.is_set()):
                self.cancel.set()
                stop.set()
            elif watch and not self.splitter.in_answer and self.trigger is None:
                new_thinking = "".join(seg.text for seg in segments if seg.kind == "thinking")
                trigger = self.monitor.check(tokens, new_thinking, wrap_up=self.wrap_up.is_set())
                if trigger is not None:
                    self._fire(trigger, tokens)
                    stop.set()
        if not watch or self.trigger is None:
            yield from self._route(self.splitter.finish(), offset + (self.phases[-1].stats.generated_tokens))

    def _fire(self, trigger: Trigger, tokens: int) -> None:
        self.trigger, self.trigger_tokens = trigger, tokens
        self.record = self.monitor.record(trigger, tokens)
        if trigger == "interrupt":
            self.wrap_up.clear()  # that press is spent; a new one during the answer cancels

    def _route(self, segments: list[Segment], tokens: int) -> Iterator[SolveEvent]:
        for segment in segments:
            if segment.kind == "thinking":
                self.thinking.append(segment.text)
                yield ThinkingDelta(segment.text, tokens)
            else:
                self.answer.append(segment.text)
                yield AnswerDelta(segment.text, tokens)

    def _prompt_tokens(self) -> int:
        # The watched phase's own count; counted here when it has none (a remote stream cut by a
        # control ends before the server's usage arrives) or when no phase was watched (budget 0).
        watched = self.phases[0].stats if self.phases and self.monitor.controls.budget != 0 else None
        if watched is not None and watched.prompt_tokens:
            return watched.prompt_tokens
        request = self.request
        prompt = request.prompt if request.prompt is not None else self.backend.chat_prompt(request.messages)
        return self.backend.count_tokens(prompt)

    def _generated_tokens(self) -> int:
        counts = [phase.stats.generated_tokens for phase in self.phases]
        if counts and self.trigger is not None and self.monitor.controls.budget != 0:
            # A batched row or a remote stream runs on a few tokens past the trigger; their text was
            # dropped, so they are in neither the thinking nor the answer.
            counts[0] = self.trigger_tokens
        return sum(counts)

    def result(self, problem: str, template: PromptTemplate) -> SolveResult:
        generated = self._generated_tokens()
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
        info = self.backend.info
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
                self.phases[-1] if self.phases else None, self.trigger, cancelled=self.cancel.is_set()
            ),
            prompt_tokens=self._prompt_tokens(),
            thinking_tokens=thinking_tokens,
            answer_tokens=generated - thinking_tokens,
            ttft_s=ttft_s,
            total_s=total_s,
            tokens_per_s=(generated - 1) / (total_s - ttft_s) if generated > 1 and total_s > ttft_s else 0.0,
            controls=record,
            error=errors[0] if errors else None,
            cached_tokens=sum(phase.stats.cached_tokens for phase in self.phases),
            engine_notes=info.notes,
        )
