"""A `solve` tool call: the request as `vibe solve` builds it, generated off the event loop with
throttled progress, stopped when the client cancels.

The generation runs `reasoning.solve.solve_stream` in a worker thread against the shared engine;
progress (thinking tokens so far against the budget) hops back to the event loop as MCP progress
notifications, at most a few a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from vibecli.config import Config
from vibecli.engine.types import GenerationRequest
from vibecli.errors import UsageError
from vibecli.mcp.engine import ScheduledBackend
from vibecli.mcp.schemas import MathVerdict, SolveOutput, TokenCounts
from vibecli.prompting.templates import PromptTemplate
from vibecli.reasoning.controls import ThinkingControls
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


class ProgressThrottle:
    """Turns solve events into progress: the first thinking tokens at once, then at most one report
    every `interval_s`, and one when the answer starts."""

    def __init__(self, plan: SolvePlan, *, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        budget = plan.controls.budget
        self.thinking_total = budget if budget else plan.request.max_new_tokens
        self.total = plan.request.max_new_tokens
        self.interval_s = interval_s
        self._sent_at = float("-inf")
        self._sent = self._thinking = 0
        self._answering = False

    def update(self, event: SolveEvent, now: float | None = None) -> Progress | None:
        now = time.monotonic() if now is None else now
        if isinstance(event, ThinkingDelta) and not self._answering:
            self._thinking = event.tokens
            if now - self._sent_at < self.interval_s:
                return None
            what = f"thinking: {event.tokens} of {self.thinking_total} tokens"
            return self._send(event.tokens, self.thinking_total, what, now)
        if isinstance(event, AnswerDelta) and not self._answering:
            self._answering = True
            return self._send(event.tokens, self.total, f"answering after {self._thinking} thinking tokens", now)
        return None

    def _send(self, value: int, total: int, message: str, now: float) -> Progress | None:
        if value <= self._sent:  # progress must rise with every notification
            return None
        self._sent, self._sent_at = value, now
        return Progress(value, total, message)


async def generate(
    engine: ScheduledBackend, plan: SolvePlan, report: Report, on_finish: Callable[[SolveResult], None]
) -> SolveResult:
    """Run `plan` on `engine` in a worker thread; cancelling this call stops the generation.

    `report` is awaited on the event loop for each progress step; `on_finish` is called on the
    worker thread with every result, a cancelled one included (its caller is gone by then).
    """
    cancel, backend = threading.Event(), engine.for_call()

    def publish(progress: Progress) -> None:
        if cancel.is_set():
            return
        # A lost notification must not fail the solve: the client may have left, the server be closing.
        with contextlib.suppress(Exception):
            anyio.from_thread.run(report, progress)

    def work() -> SolveResult:
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

    try:
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        # The client cancelled: the request leaves the queue, or its row stops within a step.
        cancel.set()
        backend.cancel()
        raise


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
