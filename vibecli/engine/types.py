"""The engine's vocabulary: requests in, a stream of small frozen records out.

Backends translate their library's own objects into these; nothing library-specific
crosses this boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FinishReason = Literal["stop", "length", "cancelled", "budget", "loop", "error"]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Role
    content: str


@dataclass(frozen=True)
class Sampling:
    """Sampling settings. `temperature == 0` means greedy; `top_k == 0` means off."""

    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0 (0 is off)")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate: chat `messages` (templated by the backend) or a raw `prompt`."""

    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    max_new_tokens: int = 40960
    stop_strings: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    request_id: str = ""

    def __post_init__(self) -> None:
        if bool(self.messages) == (self.prompt is not None):
            raise ValueError("give exactly one of messages or prompt")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")


@dataclass(frozen=True)
class TextDelta:
    """New text, and how many tokens have been generated so far."""

    text: str
    generated_tokens: int


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int
    generated_tokens: int
    ttft_s: float
    total_s: float
    cached_tokens: int = 0  # prompt tokens served from a prefix cache instead of prefilled

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second after the first one (prefill excluded)."""
        decode_s = self.total_s - self.ttft_s
        return (self.generated_tokens - 1) / decode_s if self.generated_tokens > 1 and decode_s > 0 else 0.0


# For a `Finished` that no generation stands behind (cancelled while queued, given up).
NO_STATS = GenerationStats(prompt_tokens=0, generated_tokens=0, ttft_s=0.0, total_s=0.0)


@dataclass(frozen=True)
class Finished:
    """The last item of every stream."""

    reason: FinishReason
    text: str
    stats: GenerationStats
    error: str | None = None


StreamItem = TextDelta | Finished


@dataclass(frozen=True)
class Completion:
    """One finished request from `Backend.run_many`."""

    request_id: str
    finished: Finished


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded, for banners, `--json` and `--stats`."""

    name: str
    path: str
    backend: str
    device: str
    dtype: str
    format: str
    notes: tuple[str, ...] = ()  # engine remarks for --stats, e.g. why batching is off
    # Tokens one sequence may hold, prompt plus generation (None: unknown, e.g. a server that
    # does not say). Requests are checked against it before any model work.
    context_length: int | None = None
