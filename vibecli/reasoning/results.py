"""What a solve yields: deltas as the model writes, a notice, and the `SolveResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vibecli.engine.types import FinishReason
from vibecli.reasoning.controls import ControlRecord


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
    seed: int | None = None  # the request's sampling seed (each sample of --samples has its own)

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
