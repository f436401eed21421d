"""The requests inside a transformers batch, and which prompts a pass takes.

A `Row` is one request from admission to its `Finished`. The pickers choose the prompt tokens
of one pass from the rows waiting to be prefilled, oldest first, within a token budget.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vibecli.engine.detokenize import IncrementalDetokenizer, StopStringMatcher
from vibecli.engine.types import GenerationRequest

if TYPE_CHECKING:
    import torch


@dataclass(eq=False)
class Row:
    """One request inside the batch, from admission to its `Finished`."""

    handle: int
    request: GenerationRequest
    cancel: threading.Event | None
    started_at: float = 0.0
    ids: list[int] = field(default_factory=list)  # the prompt, until it is prefilled
    prompt_tokens: int = 0
    max_new: int = 0
    stop_ids: frozenset[int] = frozenset()
    detokenizer: IncrementalDetokenizer | None = None
    stops: StopStringMatcher | None = None
    sampler: Any = None  # transformers.LogitsProcessorList, or None when greedy
    generator: Any = None  # torch.Generator, or None when greedy
    prefilled: int = 0
    cache: Any = None  # its own cache while it is being prefilled
    length: int = 0  # its tokens in the cache (its next position)
    next_token: int = 0
    generated: int = 0
    text: list[str] = field(default_factory=list)
    first_token_at: float | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def too_long(row: Row, budget: int) -> bool:
    """A prompt that goes in chunks: longer than the budget, or already begun."""
    return bool(row.prefilled) or len(row.ids) > budget


def pick_together(prefilling: collections.deque[Row], budget: int) -> list[Row]:
    """Whole prompts, oldest first, that fit one left-padded pass of `budget` tokens (rows x padded
    width), passing over prompts too long for it. They leave the prefill queue."""
    group: list[Row] = []
    width = 0
    for row in prefilling:
        if too_long(row, budget):
            continue
        if max(width, len(row.ids)) * (len(group) + 1) > budget:
            break
        group.append(row)
        width = max(width, len(row.ids))
    for row in group:
        prefilling.remove(row)
    return group


def pick_pieces(prefilling: collections.deque[Row], budget: int) -> list[tuple[Row, int]]:
    """The prompt pieces (row, end) of one packed pass of about `budget` prompt tokens: whole
    prompts that fit, oldest first, then a chunk of the oldest prompt too long to go whole, which
    takes what is left but at least a quarter of the budget, so short prompts cannot starve it."""
    long = next((row for row in prefilling if too_long(row, budget)), None)
    pieces, room = [], budget
    for row in prefilling:
        if row is not long and len(row.ids) <= room and not too_long(row, budget):
            pieces.append((row, len(row.ids)))
            room -= len(row.ids)
    if long is not None:
        pieces.append((long, long.prefilled + min(max(room, budget // 4), len(long.ids) - long.prefilled)))
    return pieces


def torch_ones(rows: int, columns: int, device: str) -> torch.Tensor:
    """A mask block with every position taken."""
    import torch

    return torch.ones((rows, columns), dtype=torch.long, device=device)
