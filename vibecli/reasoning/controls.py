"""Reasoning controls: a thinking budget, a token-cap reserve, the loop guard, and wrap-up.

The token cap is what fits the model's context (`engine.context.fit_request`), and the answer
reserve is kept back from that.

When one of them fires during the thinking, generation stops and the answer is forced: the
prompt, the partial trace, a wrap-up message and `</think>` are sent back as a raw prompt,
and the model writes its answer from there. That works on every backend, and backends with
a prefix cache make the continuation cheap.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Literal

from vibecli.engine.context import Fit
from vibecli.engine.types import Finished, FinishReason, GenerationRequest
from vibecli.reasoning.loop_guard import LoopGuard, LoopGuardSettings
from vibecli.reasoning.splitter import CLOSE_TAG, OPEN_TAG

Trigger = Literal["budget", "max_tokens", "loop", "interrupt"]

DEFAULT_BUDGET_MESSAGE = "\n\nI have thought about this long enough. Time to commit to my final answer.\n"


def answer_reserve(max_tokens: int) -> int:
    """Tokens kept back for the answer when `--max-tokens` would end inside the thinking."""
    return min(1024, max(1, max_tokens // 4))


@dataclass(frozen=True)
class ThinkingControls:
    """What may end the thinking early. `budget=None` is no budget; `budget=0` skips thinking."""

    budget: int | None = None
    budget_message: str = DEFAULT_BUDGET_MESSAGE
    loop_guard: LoopGuardSettings | None = dataclasses.field(default_factory=LoopGuardSettings)


@dataclass(frozen=True)
class ControlRecord:
    """What the controls did, for `--json` (`controls`) and the stats line."""

    budget: int | None
    max_tokens: int
    answer_reserve: int
    loop_guard: bool
    trigger: Trigger | None = None
    thinking_tokens_at_trigger: int | None = None
    seconds_at_trigger: float | None = None
    injected: str | None = None  # the wrap-up text appended to the trace
    loop_unit: str | None = None
    answer_tokens_after_trigger: int | None = None
    context_length: int | None = None  # the model's, when known
    max_tokens_requested: int | None = None  # set when `max_tokens` was capped to fit the context

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ThinkingMonitor:
    """Watches the thinking as it streams and says when, and why, to force the answer."""

    def __init__(self, controls: ThinkingControls, max_tokens: int, *, fit: Fit | None = None) -> None:
        self.controls = controls
        self.max_tokens = max_tokens  # what fits the context, so the reserve comes out of what fits
        self.reserve = answer_reserve(max_tokens)
        self.fit = fit
        self._guard = LoopGuard(controls.loop_guard) if controls.loop_guard else None
        self._started = time.monotonic()
        self.loop_unit: str | None = None

    def check(self, tokens: int, new_thinking: str, *, wrap_up: bool) -> Trigger | None:
        """The trigger that fires now, if any, given the tokens so far and the new thinking text."""
        if wrap_up:
            return "interrupt"
        budget = self.controls.budget
        if budget is not None and tokens >= budget:
            return "budget"
        if tokens >= self.max_tokens - self.reserve:
            return "max_tokens"
        if self._guard is not None and new_thinking:
            detection = self._guard.feed(new_thinking)
            if detection is not None:
                self.loop_unit = detection.unit
                return "loop"
        return None

    def record(self, trigger: Trigger | None = None, tokens: int | None = None) -> ControlRecord:
        return ControlRecord(
            budget=self.controls.budget,
            max_tokens=self.max_tokens,
            answer_reserve=self.reserve,
            loop_guard=self._guard is not None,
            trigger=trigger,
            thinking_tokens_at_trigger=tokens,
            seconds_at_trigger=round(time.monotonic() - self._started, 3) if trigger else None,
            injected=self.injected_text() if trigger else None,
            loop_unit=self.loop_unit if trigger == "loop" else None,
            context_length=self.fit.context_length if self.fit else None,
            max_tokens_requested=self.fit.requested if self.fit and self.fit.capped else None,
        )

    def injected_text(self) -> str:
        return f"{self.controls.budget_message}{CLOSE_TAG}\n\n"


def continuation_request(
    request: GenerationRequest, *, base_prompt: str, partial_trace: str, injected: str, used_tokens: int
) -> GenerationRequest:
    """A raw-prompt request that resumes after the forced `</think>`, within what is left of the cap."""
    opened = OPEN_TAG in partial_trace or base_prompt.rstrip().endswith(OPEN_TAG)
    trace = partial_trace if opened else f"{OPEN_TAG}\n{partial_trace}"
    return dataclasses.replace(
        request,
        messages=(),
        prompt=base_prompt + trace + injected,
        max_new_tokens=max(1, request.max_new_tokens - used_tokens),
    )


def controlled_finish_reason(last: Finished | None, trigger: Trigger | None, *, cancelled: bool) -> FinishReason:
    """How a generation under thinking controls ended, `last` being its last phase: a fired
    control is `budget` (or `loop`), whatever the forced answer's own reason."""
    if cancelled:
        return "cancelled"
    if last is not None and last.reason == "error":
        return "error"
    if trigger is not None:
        return "loop" if trigger == "loop" else "budget"
    return last.reason if last is not None else "stop"
