"""One row decoding in a static KV cache through a compiled forward: transformers' fast path.

On CUDA, `generate` decodes fastest with `cache_implementation="static"`: the cache's tensors
keep their addresses, so the forward is compiled once (`torch.compile`, with CUDA graphs in
mode "reduce-overhead") and every decode step replays it. vibe's continuous batch takes the
same path while exactly one row runs (a `vibe solve`, a REPL turn, a server's lone request):
the prompt is prefilled into the static cache uncompiled, as `generate` does, and each decode
step calls the compiled forward with shapes that never change. When a second request joins,
the row's keys and values move into a growing cache and it goes on in the shared batch.

The backend keeps one static cache and reuses it (reset) for the next row of the same size:
a new cache would mean new tensor addresses, and CUDA graphs recorded again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Static caches are sized in steps of this many positions, so requests of slightly different
# lengths reuse one cache (and one compiled graph) instead of compiling for each.
CACHE_STEP = 4096


def cache_size(positions: int, context: int | None) -> int:
    """The static cache length for a row that may reach `positions`: the next step up, within the context."""
    size = -(-positions // CACHE_STEP) * CACHE_STEP
    return min(size, context) if context is not None else size


class StaticDecoding:
    """What a backend shares between its static rows: the compiled forward, one cache, a lock."""

    def __init__(self, model: Any, compile_config: Any | None) -> None:
        self._model = model
        self._compile_config = compile_config  # transformers.CompileConfig; None: eager forward
        self._call: Any = None
        self._cache: Any = None
        self._size = 0  # its positions
        self._in_use = threading.Lock()  # one static row at a time; others take the growing cache
        self.compile_failure: str | None = None  # why the first compile failed, when it did

    @property
    def compiled(self) -> bool:
        return self._compile_config is not None

    def claim(self, positions: int, context: int | None) -> StaticRow | None:
        """A static row for up to `positions` tokens, or None while another row holds the cache."""
        from transformers import StaticCache

        if not self._in_use.acquire(blocking=False):
            return None
        size = cache_size(positions, context)
        try:
            if self._cache is None or self._size != size:
                self._cache = None  # free the old one before allocating its successor
                self._cache, self._size = StaticCache(config=self._model.config, max_cache_len=size), size
            else:
                self._cache.reset()
        except BaseException:
            self._in_use.release()
            raise
        return StaticRow(self, self._cache)

    def release(self) -> None:
        self._in_use.release()

    def run_step(self, run: Any) -> Any:
        """`run(call)` with the forward for one-token steps, compiled on the first step. If that
        compile fails (a torch or driver this was never tried with), the step and every later one
        run uncompiled; compiling comes before the step runs, so the cache is still as it was."""
        if self._call is None and self.compiled:
            self._call = self._model.get_compiled_call(self._compile_config)
            try:
                return run(self._call)
            except Exception as exc:  # dynamo and inductor raise many kinds; none may end a solve
                self.compile_failure = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                self._call = self._model
        return run(self._call or self._model)


class StaticRow:
    """One row's life in the static cache: prefill, decode steps, then either the end or a move
    to a growing cache (`to_dynamic`). `close` gives the cache back."""

    def __init__(self, owner: StaticDecoding, cache: Any) -> None:
        self._owner = owner
        self.cache = cache
        self.length = 0
        self._closed = False

    def prefill(self, forward: Any, ids: list[int]) -> torch.Tensor:
        """The prompt in one uncompiled pass (its shape changes from prompt to prompt)."""
        import torch

        logits = forward(torch.tensor([ids]), None, torch.arange(len(ids)).unsqueeze(0), self.cache)
        self.length = len(ids)
        return logits  # type: ignore[no-any-return]

    def step(self, forward: Any, token: int) -> torch.Tensor:
        """One decode step through the compiled forward; the logits are copied out, since a
        replayed CUDA graph writes its next output over the same memory."""
        import torch

        ids, position = torch.tensor([[token]]), torch.tensor([[self.length]])
        logits = self._owner.run_step(lambda call: forward(ids, None, position, self.cache, call=call))
        self.length += 1
        copied: torch.Tensor = logits.clone()
        return copied

    def to_dynamic(self, new_cache: Any) -> Any:
        """The row's keys and values so far in `new_cache` (a growing cache); the static cache goes
        back to the backend for its next lone row."""
        for index, layer in enumerate(self.cache.layers):
            if layer.is_initialized:
                keys, values = layer.keys[:, :, : self.length], layer.values[:, :, : self.length]
                new_cache.update(keys.clone(), values.clone(), index)
        self.close()
        return new_cache

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.release()
