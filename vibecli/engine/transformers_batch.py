"""Continuous batching for the transformers backend: requests join and leave between steps.

The running rows share one KV cache, left-padded to a common width. With none running, prompts
waiting together are prefilled together, left-padded in one forward pass as `generate` does: a
single solve pays one pass for its prompt, not one per chunk. While rows are decoding, their
step's pass also carries prompt tokens, packed (`transformers_fused`), as many as stall them
about `PREFILL_TARGET_S` at the measured cost per token (never fewer than `MIN_CHUNK`, below
which the fixed cost of a pass dominates): whole short prompts first, then a chunk of a longer
one (`transformers_rows.pick_pieces`), each in a cache of its own. Once prefilled, a newcomer's
cache is padded and appended to the shared one, and it decodes with the rest.
A row that finishes leaves the cache at once, and columns that only padding still uses are
trimmed away. Every row keeps its own sampler (and seed), detokenizer and stop state.
A row that runs alone may decode in a static cache through a compiled forward instead
(`transformers_static`, on CUDA by default); it moves to the shared cache when another joins.

Unlike transformers' own continuous-batching API, it keeps per-request seeds. Its speed against
`generate` (single and left-padded) is measured by the benches in bench/, not claimed here.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from vibecli.engine.detokenize import IncrementalDetokenizer, StopStringMatcher
from vibecli.engine.transformers_rows import Row, pick_pieces, pick_together, torch_ones
from vibecli.engine.types import (
    Finished,
    FinishReason,
    GenerationRequest,
    GenerationStats,
    StreamItem,
    TextDelta,
)
from vibecli.errors import EngineError

if TYPE_CHECKING:
    import torch

    from vibecli.engine.transformers_backend import TransformersBackend
    from vibecli.engine.transformers_static import StaticRow

PREFILL_TARGET_S = 0.3  # the stall a chunk may cause the running rows, when the machine allows
# Chunks beside running rows start at FIRST_CHUNK and follow the speed measured; the backend
# keeps what was learned for its next batches. Below MIN_CHUNK a pass costs mostly its fixed
# part (every weight read once): five 37-token passes took twice one 186-token pass on 2 cores.
MIN_CHUNK, MAX_CHUNK, FIRST_CHUNK = 128, 4096, 128
# Prompt tokens (rows x padded width) one pass takes when nothing else runs; a longer prompt
# goes in chunks of this size, which bounds the activations a pass needs.
MAX_PASS_TOKENS = 16384

Emitted = list[tuple[int, StreamItem]]


class TransformersBatch:
    """A `BatchSession` on a transformers model (see `vibecli.engine.backend.BatchSession`)."""

    def __init__(self, backend: TransformersBackend, max_rows: int) -> None:
        self._backend = backend
        self._capacity = max(1, max_rows)
        self._handles = itertools.count()
        self._waiting: collections.deque[Row] = collections.deque()
        self._prefilling: collections.deque[Row] = collections.deque()
        self._running: list[Row] = []
        self._cache: Any = None
        self._mask: Any = None  # [rows, width]: 1 where a row has a token, 0 for padding
        self._static: StaticRow | None = None  # the one running row's static cache, when it has one

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def active(self) -> int:
        return len(self._waiting) + len(self._prefilling) + len(self._running)

    def add(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        handle = next(self._handles)
        self._waiting.append(Row(handle, request, cancel))
        return handle

    def step(self) -> list[tuple[int, StreamItem]]:
        import torch

        out: Emitted = []
        with torch.inference_mode():
            self._drop_cancelled(out)
            self._admit(out)
            if self._running and self._prefilling and self._backend.fusable:
                self._decode_and_prefill(out)
            else:
                self._prefill(out)
                self._decode(out)
        return out

    def close(self) -> None:
        self._waiting.clear()
        self._prefilling.clear()
        self._clear_running()

    # Admission and prefill

    def _admit(self, out: Emitted) -> None:
        backend = self._backend
        while self._waiting and len(self._prefilling) + len(self._running) < self._capacity:
            row = self._waiting.popleft()
            row.started_at = time.perf_counter()
            try:
                ids = backend.encode_within_context(row.request)
            except EngineError as exc:
                out.append(self._finish(row, "error", str(exc)))
                continue
            context = backend.info.context_length
            row.ids, row.prompt_tokens = ids, len(ids)
            row.max_new = row.request.max_new_tokens
            if context is not None:
                row.max_new = min(row.max_new, context - len(ids))
            row.stop_ids = backend.stop_ids | frozenset(row.request.stop_token_ids)
            row.detokenizer = IncrementalDetokenizer(backend.decode)
            row.stops = StopStringMatcher(row.request.stop_strings)
            row.sampler, row.generator = backend.sampler(row.request.sampling)
            self._prefilling.append(row)

    def _prefill(self, out: Emitted) -> None:
        if not self._prefilling:
            return
        # Beside running rows a pass may stall them only so long; alone, it takes what memory allows.
        budget = min(self._backend.prefill_chunk, MAX_CHUNK) if self._running else MAX_PASS_TOKENS
        # A prompt longer than the budget goes alone, in chunks.
        group = pick_together(self._prefilling, budget)
        if not group:
            self._prefill_chunk(out, budget)
            return
        alone = len(group) == 1 and not (self._running or self._prefilling or self._waiting)
        if not (alone and self._prefill_static(group[0], out)):
            self._prefill_together(group, out)

    def _prefill_together(self, group: list[Row], out: Emitted) -> None:
        """Prefill `group` in one left-padded pass, as `generate` does, and join it to the running rows."""
        import torch

        width = max(len(row.ids) for row in group)
        ids = torch.tensor([[0] * (width - len(row.ids)) + row.ids for row in group])
        mask = torch.tensor([[0] * (width - len(row.ids)) + [1] * len(row.ids) for row in group])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as generate numbers left-padded rows
        cache, started = self._backend.new_cache(), time.perf_counter()
        try:
            logits = self._backend.forward(ids, mask, positions, cache)
        except RuntimeError as exc:  # out of memory, device errors
            out.extend(self._finish(row, "error", str(exc).splitlines()[0]) for row in group)
            return
        if self._running:
            self._learn_speed(width * len(group), time.perf_counter() - started)
        for row in group:
            row.length, row.prefilled, row.ids = len(row.ids), len(row.ids), []
        self._join(group, cache, mask.to(self._backend.device))
        first = dict(zip(group, self._pick_rows(group, logits), strict=True))
        keep = [index for index, row in enumerate(self._running)
                if row not in first or self._emit(row, first[row], out)]  # fmt: skip
        if len(keep) < len(self._running):
            self._retire(keep)

    def _prefill_static(self, row: Row, out: Emitted) -> bool:
        """Prefill a lone row into the backend's static cache; False when it has none free."""
        static = self._backend.claim_static(row.prompt_tokens + row.max_new)
        if static is None:
            return False
        try:
            logits = static.prefill(self._backend.forward, row.ids)
        except RuntimeError as exc:
            static.close()
            out.append(self._finish(row, "error", str(exc).splitlines()[0]))
            return True
        self._static, self._running = static, [row]
        row.length, row.prefilled, row.ids = static.length, static.length, []
        self._take(self._pick_all(logits), out)
        return True

    def _leave_static(self) -> None:
        """Move the lone static row into a growing cache, so that others can join it."""
        if self._static is not None:
            self._cache = self._static.to_dynamic(self._backend.new_cache())
            self._mask = torch_ones(1, self._static.length, self._backend.device)
            self._static = None

    def _prefill_chunk(self, out: Emitted, budget: int) -> None:
        """Up to `budget` prompt tokens, oldest request first, each in a cache of its own."""
        import torch

        spent, started = 0, time.perf_counter()
        while self._prefilling and budget > 0:
            row = self._prefilling[0]
            take = min(len(row.ids) - row.prefilled, budget)
            end = row.prefilled + take
            if row.cache is None:
                row.cache = self._backend.new_cache()
            try:
                logits = self._backend.forward(
                    torch.tensor([row.ids[row.prefilled : end]]),
                    torch.ones((1, end), dtype=torch.long),
                    torch.arange(row.prefilled, end).unsqueeze(0),
                    row.cache,
                )
            except RuntimeError as exc:  # out of memory, device errors
                self._prefilling.popleft()
                out.append(self._finish(row, "error", str(exc).splitlines()[0]))
                continue
            row.prefilled, budget, spent = end, budget - take, spent + take
            if row.prefilled < len(row.ids):
                break
            self._start_decoding(row, self._pick(row, logits[0:1]), out)
        if self._running:
            self._learn_speed(spent, time.perf_counter() - started)

    def _decode_and_prefill(self, out: Emitted) -> None:
        """One pass decodes the running rows and takes as much of the waiting prompts as the budget
        allows (`transformers_fused`), so a step reads the weights once."""
        import torch

        from vibecli.engine import transformers_fused as fused

        self._leave_static()
        device, running = self._backend.device, self._running
        self._mask = torch.cat([self._mask, torch_ones(len(running), 1, device)], dim=1)
        pieces = pick_pieces(self._prefilling, min(self._backend.prefill_chunk, MAX_CHUNK))
        for row, _ in pieces:
            if row.cache is None:
                row.cache = self._backend.new_cache()
        packed = fused.pack(running, self._cache, self._mask, pieces, device)
        started = time.perf_counter()
        try:
            logits = self._backend.forward_fused(packed.ids, packed.positions, packed.segments, packed.keep)
        except RuntimeError as exc:  # out of memory, device errors: every row in the pass fails
            message = str(exc).splitlines()[0]
            for row, _ in pieces:
                self._prefilling.remove(row)
                out.append(self._finish(row, "error", message))
            out.extend(self._finish(row, "error", message) for row in running)
            self._clear_running()
            return
        self._learn_speed(len(packed.ids), time.perf_counter() - started)
        for row in running:
            row.length += 1
        self._take(self._pick_all(logits[: len(running)]), out)
        for row, end in pieces:
            row.prefilled = end
        done = [row for row, end in pieces if end == len(row.ids)]
        for row, token in zip(done, self._pick_rows(done, logits[len(running) :]), strict=True):
            self._start_decoding(row, token, out)

    def _start_decoding(self, row: Row, token: int, out: Emitted) -> None:
        """A row whose prompt is now in its own cache leaves the prefill queue, takes its first
        token and, unless that ends it, joins the running rows with its cache."""
        self._prefilling.remove(row)
        row.length, row.ids = row.prefilled, []
        if self._emit(row, token, out):
            self._join([row], row.cache, torch_ones(1, row.length, self._backend.device))
        row.cache = None

    def _learn_speed(self, tokens: int, seconds: float) -> None:
        """Size the next passes beside running rows from this one's speed (kept by the backend)."""
        if tokens >= MIN_CHUNK:
            rate = tokens / max(seconds, 1e-6)
            self._backend.prefill_chunk = max(MIN_CHUNK, min(MAX_CHUNK, int(rate * PREFILL_TARGET_S)))

    def _join(self, rows: list[Row], cache: Any, mask: torch.Tensor) -> None:
        """Append prefilled rows (their cache and mask) to the shared ones, left-padding the narrower side."""
        import torch
        from torch.nn.functional import pad

        self._leave_static()
        if not self._running:
            self._cache, self._mask, self._running = cache, mask, list(rows)
            return
        width, own = self._mask.shape[1], mask.shape[1]
        grow_shared, grow_own = max(0, own - width), max(0, width - own)
        for shared, new in zip(self._cache.layers, cache.layers, strict=True):
            shared.keys = torch.cat([pad(shared.keys, (0, 0, grow_shared, 0)), pad(new.keys, (0, 0, grow_own, 0))])
            shared.values = torch.cat(
                [pad(shared.values, (0, 0, grow_shared, 0)), pad(new.values, (0, 0, grow_own, 0))]
            )
        self._mask = torch.cat([pad(self._mask, (grow_shared, 0)), pad(mask, (grow_own, 0))])
        self._running.extend(rows)

    # Decoding

    def _decode(self, out: Emitted) -> None:
        import torch

        rows = self._running
        if not rows:
            return
        try:
            if self._static is not None:
                logits = self._static.step(self._backend.forward, rows[0].next_token)
            else:
                self._mask = torch.cat([self._mask, torch_ones(len(rows), 1, self._backend.device)], dim=1)
                logits = self._backend.forward(
                    torch.tensor([[row.next_token] for row in rows]),
                    self._mask,
                    torch.tensor([[row.length] for row in rows]),
                    self._cache,
                )
        except RuntimeError as exc:
            message = str(exc).splitlines()[0]
            out.extend(self._finish(row, "error", message) for row in rows)
            self._clear_running()
            return
        for row in rows:
            row.length += 1
        self._take(self._pick_all(logits), out)

    def _take(self, tokens: list[int], out: Emitted) -> None:
        """Each running row takes its next token; the rows that end leave the batch."""
        keep = [index for index, (row, token) in enumerate(zip(self._running, tokens, strict=True))
                if self._emit(row, token, out)]  # fmt: skip
        if len(keep) < len(self._running):
            self._retire(keep)

    def _pick_all(self, logits: torch.Tensor) -> list[int]:
        return self._pick_rows(self._running, logits)

    def _pick_rows(self, rows: list[Row], logits: torch.Tensor) -> list[int]:
        """The next tokens of `rows` (one logits row each): greedy rows in one argmax, sampled rows
        each with its own generator (so a seed gives what it gives alone)."""
        tokens: list[int] = logits.argmax(dim=-1).tolist()
        for index, row in enumerate(rows):
            if row.sampler is not None:
                tokens[index] = self._pick(row, logits[index : index + 1])
        return tokens

    def _pick(self, row: Row, logits: torch.Tensor) -> int:
        import torch

        if row.sampler is None:
            return int(logits.argmax(dim=-1).item())
        scores = row.sampler(torch.tensor([[row.next_token]]), logits)
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=row.generator).item())

    def _emit(self, row: Row, token: int, out: Emitted) -> bool:
        """Take `token` into `row`; True while the row goes on."""
        assert row.detokenizer is not None and row.stops is not None
        row.generated += 1
        row.first_token_at = row.first_token_at or time.perf_counter()
        if token in row.stop_ids:
            out.append(self._finish(row, "stop"))
            return False
        at_end = row.generated >= row.max_new
        text = row.stops.feed(row.detokenizer.push(token))
        if at_end and not row.stops.stopped:
            text += row.stops.feed(row.detokenizer.flush()) + row.stops.flush()
        if text:
            row.text.append(text)
            out.append((row.handle, TextDelta(text, row.generated)))
        if row.stops.stopped or at_end:
            out.append(self._finish(row, "stop" if row.stops.stopped else "length"))
            return False
        row.next_token = token
        return True

    # Leaving

    def _drop_cancelled(self, out: Emitted) -> None:
        for queue in (self._waiting, self._prefilling):
            for row in [r for r in queue if r.cancelled]:
                queue.remove(row)
                out.append(self._finish(row, "cancelled"))
        if any(row.cancelled for row in self._running):
            out.extend(self._finish(row, "cancelled") for row in self._running if row.cancelled)
            self._retire([i for i, row in enumerate(self._running) if not row.cancelled])

    def _retire(self, keep: list[int]) -> None:
        """Keep only rows `keep` of the shared cache, then trim columns no row uses any more."""
        import torch

        if not keep:
            self._clear_running()
            return
        index = torch.tensor(keep, device=self._backend.device)
        mask = self._mask.index_select(0, index)
        start = int(mask.any(dim=0).nonzero()[0])
        for layer in self._cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:]
            layer.values = layer.values.index_select(0, index)[:, :, start:]
        self._mask = mask[:, start:]
        self._running = [self._running[i] for i in keep]

    def _clear_running(self) -> None:
        if self._static is not None:
            self._static.close()
        self._running, self._cache, self._mask, self._static = [], None, None, None

    def _finish(self, row: Row, reason: FinishReason, error: str | None = None) -> tuple[int, Finished]:
        now = time.perf_counter()
        started = row.started_at or now
        stats = GenerationStats(
            prompt_tokens=row.prompt_tokens,
            generated_tokens=row.generated,
            ttft_s=(row.first_token_at or now) - started,
            total_s=now - started,
        )
        row.cache, row.ids = None, []
        return row.handle, Finished(reason=reason, text="".join(row.text), stats=stats, error=error)
