"""The portable backend: Hugging Face transformers on PyTorch (CPU, CUDA or Apple MPS).

Single streams, batches and `run_many` all run through one continuous batch
(`transformers_batch.TransformersBatch`): requests join between decode steps and leave the
moment they end. Sampling reuses transformers' own logits warpers, so settings mean what
they mean in `generate`. The context length is the model's positions (or the tokenizer's
limit when smaller), and no request is let past it.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from vibecli.engine.backend import LoadOptions, run_in_batch, stream_in_batch
from vibecli.engine.context import ContextExceeded, count_within
from vibecli.engine.transformers_batch import FIRST_CHUNK, TransformersBatch
from vibecli.engine.transformers_fused import Segment, can_fuse, fused_forward
from vibecli.engine.transformers_static import StaticDecoding, StaticRow
from vibecli.engine.types import (
    Completion,
    GenerationRequest,
    Message,
    ModelInfo,
    Sampling,
    StreamItem,
)
from vibecli.errors import EngineError

if TYPE_CHECKING:
    import torch

# Chat-end markers of Qwen-family models; each one present in the vocabulary stops generation.
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")


def _pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"--device cuda: no CUDA GPU is visible to torch {torch.__version__}")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise EngineError("--device mps: Apple MPS is not available on this machine")
    return requested


def _pick_dtype(device: str, requested: str) -> torch.dtype:
    import torch

    named = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if requested != "auto":
        return named[requested]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.bfloat16
    return torch.float32  # bf16 matmuls are slow or missing on many CPUs


def load(options: LoadOptions) -> TransformersBackend:
    """Load a Hugging Face model directory onto the best (or requested) device."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise EngineError(
            f"the transformers backend needs torch and transformers: pip install 'vibecli[cpu]' ({exc})"
        ) from None
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    device = _pick_device(options.device)
    dtype = _pick_dtype(device, options.dtype)
    if device == "cpu":
        # Subnormal floats slow CPU arithmetic many times over (a random-weight model's decode ran
        # 5-12x slower once they appeared); flushing them to zero, as TensorFlow does by default,
        # changes only values below 1e-38. Set before loading, so torch's worker threads inherit it.
        torch.set_flush_denormal(True)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(options.path, local_files_only=True)
        model: Any = transformers.AutoModelForCausalLM.from_pretrained(
            str(options.path), dtype=dtype, local_files_only=True
        )
    except Exception as exc:  # whatever the library trips on (SafetensorError, TypeError…) is one line, exit 3
        raise EngineError(f"cannot load {options.path}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
    model.to(device).eval()
    notes = _attention_note(model, device)
    static = _static_decoding(model, device, options.compile)
    if static is not None:
        notes += ("static cache, compiled decode" if static.compiled else "static cache",)
    info = ModelInfo(
        name=options.name,
        path=str(options.path),
        backend="transformers",
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        format=options.format,
        context_length=context_length(model, tokenizer, options.context),
        notes=notes,
    )
    del torch
    return TransformersBackend(model, tokenizer, info, static)


def _attention_note(model: Any, device: str) -> tuple[str, ...]:
    """What attention runs, for --stats on CUDA. transformers loads SDPA, whose CUDA kernels include
    PyTorch's own flash attention. The flash-attn package is not switched to: with a static cache
    and no mask it would attend to the cache's empty positions, and its path through vibe's
    left-padded joins has not run on a GPU yet."""
    return (f"attention: {model.config._attn_implementation}",) if device == "cuda" else ()


def _static_decoding(model: Any, device: str, setting: str) -> StaticDecoding | None:
    """A lone row's static cache and compiled decode step: by default on CUDA, where `generate`
    compiles too; on CPU and MPS only when asked (`compile: on`), since compiling costs more there
    than it gives back."""
    from transformers import CompileConfig

    if setting == "off" or (setting == "auto" and device != "cuda"):
        return None
    mode = "reduce-overhead" if device == "cuda" else "default"  # CUDA graphs exist only on CUDA
    return StaticDecoding(model, CompileConfig(fullgraph=True, mode=mode))


def _stop_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for token in STOP_TOKENS:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    for source in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, list):
            ids.update(i for i in source if isinstance(i, int))
    return frozenset(ids)


def context_length(model: Any, tokenizer: Any, requested: int | None = None) -> int | None:
    """Tokens one sequence may hold: the model's positions, the tokenizer's limit when smaller,
    and `--ctx` when smaller still."""
    limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits.append(requested)
    # Tokenizers without a limit report a huge sentinel (int(1e30)).
    known = [n for n in limits if isinstance(n, int) and 0 < n < 10**9]
    return min(known) if known else None


class TransformersBackend:
    """A transformers model behind the `Backend` protocol; every path runs through `open_batch`."""

    def __init__(self, model: Any, tokenizer: Any, info: ModelInfo, static: StaticDecoding | None = None) -> None:
        from transformers import DynamicCache, DynamicLayer

        self._model = model
        self._static = static
        self._tokenizer = tokenizer
        self._info = info
        self.stop_ids = _stop_ids(model, tokenizer)
        self.device: str = info.device
        self.prefill_chunk = FIRST_CHUNK  # prompt tokens per step of a batch, tuned as batches run
        # transformers 5.x renamed the KV-cache argument from past_key_values to cache.
        self._cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        # Rows can join a running batch only when every cache layer is a plain growing one.
        self.mergeable = all(type(layer) is DynamicLayer for layer in DynamicCache(config=model.config).layers)
        self.fusable = self.mergeable and can_fuse(model)  # one pass may decode and prefill together
        if not self.mergeable:
            self._static = None
            self._info = dataclasses.replace(
                info, notes=(*info.notes, "sliding-window cache: requests run one at a time")
            )

    @property
    def info(self) -> ModelInfo:
        failure = self._static.compile_failure if self._static is not None else None
        if failure:
            return dataclasses.replace(
                self._info, notes=(*self._info.notes, f"compiling failed, uncompiled: {failure}")
            )
        return self._info

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        if not getattr(self._tokenizer, "chat_template", None):
            raise EngineError(f"{self._info.path} has no chat template in its tokenizer config")
        text = self._tokenizer.apply_chat_template(
            [asdict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        for _, item in self.stream_batch([request], cancels=[cancel]):
            yield item

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        return stream_in_batch(self, requests, cancels)

    def run_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        cancel: threading.Event | None = None,
        max_batch: int = 8,
    ) -> Iterator[Completion]:
        return run_in_batch(self, requests, cancel, max_batch)

    def open_batch(self, max_rows: int) -> TransformersBatch:
        if self._model is None:
            raise EngineError("the model was closed")
        return TransformersBatch(self, max_rows if self.mergeable else 1)

    def close(self) -> None:
        self._model = self._static = None

    # What `TransformersBatch` uses.

    def encode_within_context(self, request: GenerationRequest) -> list[int]:
        """The prompt's tokens; raises `EngineError` when it is empty or does not fit the context,
        having tokenized no more than a few times the context's worth of text."""
        text = request.prompt if request.prompt is not None else self.chat_prompt(request.messages)
        context = self._info.context_length
        if context is not None:
            counted = count_within(self.count_tokens, text, context)
            if not counted.exact or counted.tokens >= context:
                raise EngineError(str(ContextExceeded(counted, context)))
        ids = self._encode(text)
        if not ids:
            raise EngineError("empty prompt")
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=False))

    def sampler(self, sampling: Sampling) -> tuple[Any, Any]:
        """transformers' own logits warpers and a seeded generator; (None, None) when greedy."""
        import torch
        import transformers as tf

        if sampling.greedy:
            return None, None
        warpers: list[Any] = [tf.TemperatureLogitsWarper(sampling.temperature)]
        if sampling.top_k > 0:
            warpers.append(tf.TopKLogitsWarper(sampling.top_k))
        if sampling.top_p < 1.0:
            warpers.append(tf.TopPLogitsWarper(sampling.top_p))
        generator = torch.Generator(device=self.device)
        generator.manual_seed(sampling.seed if sampling.seed is not None else torch.seed())
        return tf.LogitsProcessorList(warpers), generator

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self._model.config)

    def claim_static(self, positions: int) -> StaticRow | None:
        """A static cache for a lone row of up to `positions` tokens, when this backend decodes
        that way and no other row holds it."""
        if self._static is None:
            return None
        return self._static.claim(positions, self._info.context_length)

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor, cache: Any, call: Any = None
    ) -> torch.Tensor:
        """One forward pass (through `call`, a compiled forward, when given) that extends `cache`;
        returns the last position's logits, one row each. No mask: every position is taken."""
        if self._model is None:
            raise EngineError("the model was closed")
        out = (call or self._model)(
            input_ids=input_ids.to(self.device),
            attention_mask=None if mask is None else mask.to(self.device),
            position_ids=positions.to(self.device),
            logits_to_keep=1,
            use_cache=True,
            **{self._cache_arg: cache},
        )
        return out.logits[:, -1, :].float()  # type: ignore[no-any-return]

    def forward_fused(
        self, ids: list[int], positions: list[int], segments: Sequence[Segment], keep: list[int]
    ) -> torch.Tensor:
        """One packed pass over several segments' tokens (`transformers_fused`); the logits of
        positions `keep`, one row each."""
        import torch

        if self._model is None:
            raise EngineError("the model was closed")
        device = self.device
        return fused_forward(
            self._model,
            torch.tensor([ids], device=device),
            torch.tensor([positions], device=device),
            segments,
            torch.tensor(keep, device=device),
        )

    def _encode(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])
