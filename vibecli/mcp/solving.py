"""A `solve` tool call: the request as `vibe solve` builds it, generated off the event loop with
throttled progress, stopped when the client cancels.

The generation runs `reasoning.solve.solve_stream` (or, with samples, `vibe solve --samples`'s
`reasoning.samples.solve_samples`) in a worker thread against the shared engine; progress
(tokens so far against the budget) hops back to the event loop as MCP progress notifications,
at most a few a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

from vibecli.config import Config
from vibecli.engine.types import GenerationRequest
from vibecli.errors import UsageError
from vibecli.mcp.engine import ScheduledBackend
from vibecli.mcp.schemas import MathVerdict, SampleSummary, SolveOutput, TokenCounts, VoteSummary
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import ThinkingControls
from vibecli.reasoning.samples import SamplesResult, SampleUpdate, solve_samples
from vibecli.reasoning.solve import (
    AnswerDelta,
    SolveEvent,
    SolveResult,
    ThinkingDelta,
    build_request,
    controls_for,
    sampling_for,
    select_template,
    solve_stream,
)

PROGRESS_INTERVAL_S = 0.25
T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One MCP progress notification: `progress` rises with every one sent."""

    progress: int
    total: int
    message: str


Report = Callable[[Progress], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class SolvePlan:
    """Everything one generation needs, built and checked before the model is touched."""

    problem: str
    template: PromptTemplate
    request: GenerationRequest
    controls: ThinkingControls


def plan_solve(
    config: Config,
    templates: dict[str, PromptTemplate],
    problem: str,
    *,
    mode: str | None = None,
    think_budget: int | None = None,
    max_tokens: int | None = None,
) -> SolvePlan:
    """The server's settings (`config`, from its flags) with this call's overrides.

    Raises UsageError for an empty problem, an unknown mode, or more tokens than the server allows.
    """
    if not problem.strip():
        raise UsageError("the problem is empty")
    if max_tokens is not None and max_tokens > config.max_tokens:
        raise UsageError(f"max_tokens {max_tokens} is above this server's limit of {config.max_tokens}")
    settings = dataclasses.replace(
        config,
        mode=mode or config.mode,
        think_budget=think_budget if think_budget is not None else config.think_budget,
        max_tokens=max_tokens or config.max_tokens,
    )
    template = select_template(settings.mode, problem, templates)
    sampling = sampling_for(template, settings)
    request = build_request(template, problem.strip(), sampling=sampling, max_tokens=settings.max_tokens)
    return SolvePlan(problem.strip(), template, request, controls_for(template, settings))


class _RisingProgress:
    """Progress that only ever rises; `_due` says whether `interval_s` has passed since the last report."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._sent_at = float("-inf")
        self._sent = 0

    def _due(self, now: float) -> bool:
        return now - self._sent_at >= self.interval_s

    def _send(self, value: int, total: int, message: str, now: float) -> Progress | None:
        if value <= self._sent:  # progress must rise with every notification
            return None
        self._sent, self._sent_at = value, now
        return Progress(value, total, message)


class ProgressThrottle(_RisingProgress):
    """Turns solve events into progress: the first thinking tokens at once, then at most one report
    every `interval_s`, and one when the answer starts."""

    def __init__(self, plan: SolvePlan, *, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        super().__init__(interval_s)
        budget = plan.controls.budget
        self.thinking_total = budget if budget else plan.request.max_new_tokens
        self.total = plan.request.max_new_tokens
        self._thinking = 0
        self._answering = False

    def update(self, event: SolveEvent, now: float | None = None) -> Progress | None:
        now = time.monotonic() if now is None else now
        if isinstance(event, ThinkingDelta) and not self._answering:
            self._thinking = event.tokens
            if not self._due(now):
                return None
            what = f"thinking: {event.tokens} of {self.thinking_total} tokens"
            return self._send(event.tokens, self.thinking_total, what, now)
        if isinstance(event, AnswerDelta) and not self._answering:
            self._answering = True
            return self._send(event.tokens, self.total, f"answering after {self._thinking} thinking tokens", now)
        return None


class SamplesProgress(_RisingProgress):
    """Progress of K samples: their tokens summed against K times the token cap, at most one
    report every `interval_s`, and one whenever a sample starts its answer or finishes."""

    def __init__(self, plan: SolvePlan, k: int, *, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        super().__init__(interval_s)
        self.total = k * plan.request.max_new_tokens
        self._tokens = [0] * k
        self._phases = ["thinking"] * k

    def update(self, update: SampleUpdate, now: float | None = None) -> Progress | None:
        now = time.monotonic() if now is None else now
        self._tokens[update.index] = max(self._tokens[update.index], update.tokens)
        changed = update.phase != self._phases[update.index]
        self._phases[update.index] = update.phase
        if not changed and not self._due(now):
            return None
        phases = ", ".join(f"{self._phases.count(phase)} {phase}" for phase in ("thinking", "answering", "done"))
        what = f"{len(self._tokens)} samples, {sum(self._tokens)} tokens: {phases}"
        return self._send(sum(self._tokens), self.total, what, now)


async def _in_worker(
    engine: ScheduledBackend,
    report: Report,
    work: Callable[[ScheduledBackend, threading.Event, Callable[[Progress], None]], T],
) -> T:
    """`work(backend, cancel, publish)` in a worker thread on this call's own view of `engine`;
    cancelling this call sets `cancel` and stops every generation of the call."""
    cancel, backend = threading.Event(), engine.for_call()

    def publish(progress: Progress) -> None:
        if cancel.is_set():
            return
        # A lost notification must not fail the solve: the client may have left, the server be closing.
        with contextlib.suppress(Exception):
            anyio.from_thread.run(report, progress)

    try:
        return await anyio.to_thread.run_sync(functools.partial(work, backend, cancel, publish), abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        # The client cancelled: the requests leave the queue, or their rows stop within a step.
        cancel.set()
        backend.cancel()
        raise


async def generate(
    engine: ScheduledBackend, plan: SolvePlan, report: Report, on_finish: Callable[[SolveResult], None]
) -> SolveResult:
    """Run `plan` on `engine` in a worker thread; cancelling this call stops the generation.

    `report` is awaited on the event loop for each progress step; `on_finish` is called on the
    worker thread with every result, a cancelled one included (its caller is gone by then).
    """

    def work(backend: ScheduledBackend, cancel: threading.Event, publish: Callable[[Progress], None]) -> SolveResult:
        throttle = ProgressThrottle(plan)
        events = solve_stream(backend, plan.template, plan.problem, request=plan.request, controls=plan.controls,
                              cancel=cancel)  # fmt: skip
        for event in events:
            if isinstance(event, SolveResult):
                on_finish(event)
                return event
            progress = throttle.update(event)
            if progress is not None:
                publish(progress)
        raise AssertionError("solve_stream always ends with its result")

    return await _in_worker(engine, report, work)


async def sample_and_vote(
    engine: ScheduledBackend,
    plan: SolvePlan,
    k: int,
    *,
    same: Callable[[str, str], bool],
    report: Report,
    on_finish: Callable[[SamplesResult], None],
) -> tuple[SamplesResult, int]:
    """`k` samples of `plan` (seeds SEED, SEED+1, …) as `vibe solve --samples` runs them, each a
    job of the shared scheduler, then the vote with `same` (math equivalence); returns the
    result and the prompt's tokens. Cancelling this call stops every sample.

    `report` and `on_finish` are as for `generate`.
    """

    def work(
        backend: ScheduledBackend, cancel: threading.Event, publish: Callable[[Progress], None]
    ) -> tuple[SamplesResult, int]:
        throttle = SamplesProgress(plan, k)
        events = solve_samples(backend, plan.template, plan.problem, request=plan.request, k=k,
                               controls=plan.controls, same=same, cancel=cancel)  # fmt: skip
        for event in events:
            if isinstance(event, SamplesResult):
                on_finish(event)
                request = plan.request
                prompt = request.prompt if request.prompt is not None else backend.chat_prompt(request.messages)
                return event, backend.count_tokens(prompt)
            if not isinstance(event, SampleUpdate):
                continue  # a capped max_tokens: the server caps its requests itself
            progress = throttle.update(event)
            if progress is not None:
                publish(progress)
        raise AssertionError("solve_samples always ends with its result")

    return await _in_worker(engine, report, work)


def solve_output(result: SolveResult, *, include_thinking: bool, verification: MathVerdict | None) -> SolveOutput:
    return SolveOutput(
        final_answer=result.final_answer,
        answer=result.answer,
        finish_reason=result.finish_reason,
        mode=result.mode,
        model=result.model,
        tokens=TokenCounts(prompt=result.prompt_tokens, thinking=result.thinking_tokens, answer=result.answer_tokens),
        seconds=round(result.total_s, 3),
        thinking=result.thinking if include_thinking else None,
        verification=verification,
    )


def samples_output(
    result: SamplesResult, *, prompt_tokens: int, include_thinking: bool, verification: MathVerdict | None
) -> SolveOutput:
    """The vote's answer; the text, reason and tokens of the winning sample (the first one when
    none gave an answer); the vote and every sample in brief."""
    record = result.to_json()  # `vibe solve --samples --json`'s vote and samples
    shown = result.samples[result.winner if result.winner is not None else 0]
    return SolveOutput(
        final_answer=result.final_answer,
        answer=shown.answer,
        finish_reason=shown.finish_reason,
        mode=result.mode,
        model=result.model,
        tokens=TokenCounts(
            prompt=prompt_tokens, thinking=shown.thinking_tokens, answer=shown.tokens - shown.thinking_tokens
        ),
        seconds=round(result.total_s, 3),
        thinking=shown.thinking if include_thinking else None,
        verification=verification,
        vote=VoteSummary.model_validate(record["vote"]),
        samples=[
            SampleSummary(
                index=s.index,
                seed=s.seed,
                final_answer=s.final_answer,
                finish_reason=s.finish_reason,
                tokens=s.tokens,
                thinking_tokens=s.thinking_tokens,
            )
            for s in result.samples
        ],
    )
