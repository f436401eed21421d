"""One forward pass for a step that decodes the running rows and prefills newcomers' prompts.

transformers' continuous batching puts prompt chunks and decode tokens of many requests in one
ragged pass, so that a step reads the weights once. This does the same over vibe's caches: the
tokens of every segment (the running rows, one token each, and each newcomer's prompt chunk) go
packed in one sequence of batch 1 through the projections and MLPs, which cost what the tokens
cost, without padding. Only attention is split: each segment attends over its own cache (the
running rows' shared left-padded one, a newcomer's own), through the model's own attention
function (SDPA), with its own mask. No segment sees another's keys, so no work goes to them.

The model's attention is switched to `FUSED` for the length of that pass only (`fused_forward`);
every other pass runs as transformers loads it, and one that another thread runs meanwhile gets
SDPA's mask and attention through `FUSED` unchanged.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from vibecli.engine.transformers_rows import Row

FUSED = "vibe_fused"
_switch = threading.Lock()  # one fused pass at a time: the attention setting belongs to the model


@dataclass(frozen=True)
class Segment:
    """`rows` rows of `width` new tokens each, packed row after row, that attend over `cache`
    (which they extend). `mask` is [rows, 1, width, keys], True where a token may look; None for a
    prompt's first chunk, which attends causally over itself."""

    rows: int
    width: int
    cache: Any
    mask: torch.Tensor | None


@dataclass(frozen=True)
class Plan:
    """What the fused attention needs besides the packed tensors; passed where the mask goes."""

    segments: tuple[Segment, ...]
    attention: Callable[..., Any]  # the model's own attention function


@dataclass(frozen=True)
class Packed:
    """One fused pass's input: the tokens in order, their positions, segments, and the positions
    whose logits are wanted (every running row's, then each finished prompt's last)."""

    ids: list[int]
    positions: list[int]
    segments: list[Segment]
    keep: list[int]


def pack(
    running: Sequence[Row], cache: Any, mask: torch.Tensor, pieces: Sequence[tuple[Row, int]], device: str
) -> Packed:
    """The running rows' next tokens over `cache` (`mask` includes their new column), then each
    prompt piece `row.ids[row.prefilled:end]` over the row's own cache."""
    segments = [running_segment(len(running), cache, mask)]
    ids, positions = [row.next_token for row in running], [row.length for row in running]
    keep = list(range(len(running)))
    for row, end in pieces:
        segments.append(chunk_segment(row.cache, row.prefilled, end, device))
        ids += row.ids[row.prefilled : end]
        positions += range(row.prefilled, end)
        if end == len(row.ids):
            keep.append(len(ids) - 1)
    return Packed(ids, positions, segments, keep)


def running_segment(rows: int, cache: Any, mask: torch.Tensor) -> Segment:
    """The running rows' next tokens, over their shared cache; `mask` [rows, width] includes the new column."""
    return Segment(rows, 1, cache, mask.bool()[:, None, None, :])


def chunk_segment(cache: Any, start: int, end: int, device: str) -> Segment:
    """Prompt tokens `start:end` of one row, over its own cache holding the first `start`."""
    import torch

    if start == 0:
        return Segment(1, end, cache, None)
    # A token at `start + i` sees every position up to its own.
    mask = torch.ones((end - start, end), dtype=torch.bool, device=device).tril(diagonal=start)
    return Segment(1, end - start, cache, mask[None, None])


def fused_forward(
    model: Any, ids: torch.Tensor, positions: torch.Tensor, segments: Sequence[Segment], keep: torch.Tensor
) -> torch.Tensor:
    """One pass over the packed `ids` [1, tokens] at `positions`; the logits of positions `keep`,
    one row each. Every segment's cache takes its tokens."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    _register()
    config = model.config
    with _switch, _attention(config, FUSED) as own:
        plan = Plan(tuple(segments), ALL_ATTENTION_FUNCTIONS[own])
        out = model(
            input_ids=ids,
            attention_mask={kind: plan for kind in set(config.layer_types)},
            position_ids=positions,
            logits_to_keep=keep,
            use_cache=False,  # the segments' caches take the keys, in the attention
        )
    return out.logits[0].float()  # type: ignore[no-any-return]


def can_fuse(model: Any) -> bool:
    """Only SDPA is known to take the segments' masks as they are built here."""
    return model.config._attn_implementation == "sdpa" and set(model.config.layer_types) == {"full_attention"}


@functools.cache
def _register() -> None:
    """Make `FUSED` a name transformers knows, once per process."""
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    from transformers.modeling_utils import AttentionInterface

    AttentionInterface.register(FUSED, _fused_attention)
    # Another thread's ordinary pass during the switch builds SDPA's mask and gets SDPA's attention.
    AttentionMaskInterface.register(FUSED, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


@contextmanager
def _attention(config: Any, name: str) -> Iterator[str]:
    own = config._attn_implementation
    config._attn_implementation = name
    try:
        yield own
    finally:
        config._attn_implementation = own


def _fused_attention(
    module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, plan: Plan | Any, **kwargs: Any
) -> tuple[torch.Tensor, None]:
    """transformers' attention protocol: [1, heads, tokens, dim] in, [1, tokens, heads, dim] out."""
    import torch
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    if not isinstance(plan, Plan):  # an ordinary pass (another thread's) while the switch is on
        return ALL_ATTENTION_FUNCTIONS["sdpa"](module, query, key, value, plan, **kwargs)  # type: ignore[no-any-return]
    outputs, start = [], 0
    for segment in plan.segments:
        end = start + segment.rows * segment.width
        keys, values = segment.cache.update(
            _rows(key, start, end, segment), _rows(value, start, end, segment), module.layer_idx
        )
        out, _ = plan.attention(module, _rows(query, start, end, segment), keys, values, segment.mask, **kwargs)
        outputs.append(out.reshape(1, end - start, *out.shape[2:]))
        start = end
    return torch.cat(outputs, dim=1), None


def _rows(packed: torch.Tensor, start: int, end: int, segment: Segment) -> torch.Tensor:
    """Tokens `start:end` of a packed [1, heads, tokens, dim] tensor as [rows, heads, width, dim]."""
    heads, dim = packed.shape[1], packed.shape[3]
    return packed[0, :, start:end].reshape(heads, segment.rows, segment.width, dim).transpose(0, 1)
