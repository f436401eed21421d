"""Fitting requests into the model's context before any model work.

A prompt is measured with the backend's own tokenizer, but never more of it than the
question needs: prefixes of growing size are counted first, so a 5 MB prompt against a
1,024-token context costs a few thousand characters of tokenizing, not five million.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vibecli.engine.types import GenerationRequest
from vibecli.errors import UsageError

if TYPE_CHECKING:
    from vibecli.engine.backend import Backend

# A prefix may tokenize into a few more tokens than the same characters inside the whole text
# (its last word is cut); a prefix this far over the limit proves the whole text is over it.
PREFIX_SLACK = 32
FIRST_PREFIX_CHARS = 4096


@dataclass(frozen=True)
class TokenCount:
    """Tokens in a text: exact, or (when `exact` is False) a lower bound already over the limit."""

    tokens: int
    exact: bool = True


def count_within(count: Callable[[str], int], text: str, limit: int) -> TokenCount:
    """`count(text)`, unless a prefix already holds more than `limit` tokens.

    Prefixes grow fourfold from a few times `limit` characters, so the work done on an
    over-long text is bounded by a small multiple of `limit`, whatever the text's size.
    """
    size = max(FIRST_PREFIX_CHARS, 4 * limit)
    while size < len(text):
        tokens = count(text[:size])
        if tokens > limit + PREFIX_SLACK:
            return TokenCount(tokens - PREFIX_SLACK, exact=False)
        size *= 4
    return TokenCount(count(text))


class ContextExceeded(UsageError):
    """The prompt alone does not leave room for one generated token."""

    def __init__(self, prompt: TokenCount, context_length: int, what: str = "the prompt") -> None:
        self.prompt, self.context_length = prompt, context_length
        size = f"{prompt.tokens:,}" if prompt.exact else f"over {prompt.tokens:,}"
        super().__init__(f"{what} is {size} tokens: it does not fit the model's context of {context_length:,} tokens")


@dataclass(frozen=True)
class Fit:
    """A request made to fit: `request.max_new_tokens` is what fits (`requested` is what was asked)."""

    request: GenerationRequest
    prompt_tokens: int
    context_length: int | None
    requested: int

    @property
    def capped(self) -> bool:
        return self.request.max_new_tokens < self.requested

    def notice(self) -> str:
        """The one line that says the cap was applied."""
        return (
            f"max tokens {self.requested:,} capped to {self.request.max_new_tokens:,}: the prompt is "
            f"{self.prompt_tokens:,} tokens of the model's {self.context_length or 0:,}-token context"
        )


def prompt_text(backend: Backend, request: GenerationRequest) -> str:
    """The text the backend will tokenize for `request`."""
    return request.prompt if request.prompt is not None else backend.chat_prompt(request.messages)


def fit_request(backend: Backend, request: GenerationRequest, *, what: str = "the prompt") -> Fit:
    """Check `request` against the backend's context and cap `max_new_tokens` to what fits.

    Raises `ContextExceeded` when the prompt alone leaves no room; a backend that does not
    know its context length (some remote servers) gets the request unchanged.
    """
    context = backend.info.context_length
    if context is None:
        return Fit(request, 0, None, request.max_new_tokens)
    counted = count_within(backend.count_tokens, prompt_text(backend, request), context)
    if not counted.exact or counted.tokens >= context:
        raise ContextExceeded(counted, context, what)
    room = context - counted.tokens
    fitted = request if request.max_new_tokens <= room else dataclasses.replace(request, max_new_tokens=room)
    return Fit(fitted, counted.tokens, context, request.max_new_tokens)
