"""The portable backend: Hugging Face transformers on PyTorch (CPU, CUDA or Apple MPS).

One decode loop serves single streams and batches: prompts are left-padded, every row keeps
its own sampler, detokenizer and stop state, and a row's `Finished` is yielded the moment
it ends. Sampling reuses transformers' own logits warpers, so settings mean what they mean
in `generate`.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from vibecli.engine.backend import LoadOptions
from vibecli.engine.detokenize import IncrementalDetokenizer, StopStringMatcher
from vibecli.engine.types import (
    Completion,
    Finished,
    FinishReason,
    GenerationRequest,
    GenerationStats,
    Message,
    ModelInfo,
    StreamItem,
    TextDelta,
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
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(options.path, local_files_only=True)
        model: Any = transformers.AutoModelForCausalLM.from_pretrained(
            str(options.path), dtype=dtype, local_files_only=True
        )
    except Exception as exc:  # whatever the library trips on (SafetensorError, TypeError…) is one line, exit 3
        raise EngineError(f"cannot load {options.path}: {' '.join(str(exc).split()) or type(exc).__name__}") from None
    model.to(device).eval()
    info = ModelInfo(
        name=options.name,
        path=str(options.path),
        backend="transformers",
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        format=options.format,
    )
    del torch
    return TransformersBackend(model, tokenizer, info)


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


@dataclass
class _Row:
    """Decoding state of one request inside a batch."""

    request: GenerationRequest
    prompt_tokens: int
    stop_ids: frozenset[int]
    detokenizer: IncrementalDetokenizer
    stops: StopStringMatcher
    sampler: Any  # transformers.LogitsProcessorList, or None when greedy
    generator: Any  # torch.Generator, or None
    generated: int = 0
    text: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    done: bool = False


class TransformersBackend:
    """A transformers model behind the `Backend` protocol."""

    def __init__(self, model: Any, tokenizer: Any, info: ModelInfo) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._info = info
        self._stop_ids = _stop_ids(model, tokenizer)
        pad = tokenizer.pad_token_id
        self._pad_id: int = pad if isinstance(pad, int) else min(self._stop_ids, default=0)
        # transformers 5.x renamed the KV-cache argument from past_key_values to cache.
        self._cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    @property
    def info(self) -> ModelInfo:
        return self._info

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        if not getattr(self._tokenizer, "chat_template", None):
            raise EngineError(f"{self._info.path} has no chat template in its tokenizer config")
        text = self._tokenizer.apply_chat_template(
            [asdict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        for _, item in self._decode([request], [cancel]):
            yield item

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        return self._decode(requests, cancels)

    def run_many(
        self,
        requests: Sequence[GenerationRequest],
        *,
        cancel: threading.Event | None = None,
        max_batch: int = 8,
    ) -> Iterator[Completion]:
        # Waves of up to max_batch rows; a finished row idles until its wave ends.
        for start in range(0, len(requests), max(1, max_batch)):
            wave = list(requests[start : start + max(1, max_batch)])
            for index, item in self._decode(wave, [cancel] * len(wave)):
                if isinstance(item, Finished):
                    yield Completion(wave[index].request_id, item)

    def close(self) -> None:
        self._model = None

    def _new_row(self, request: GenerationRequest, prompt_tokens: int) -> _Row:
        import torch
        import transformers as tf

        sampling = request.sampling
        sampler = generator = None
        if not sampling.greedy:
            warpers: list[Any] = [tf.TemperatureLogitsWarper(sampling.temperature)]
            if sampling.top_k > 0:
                warpers.append(tf.TopKLogitsWarper(sampling.top_k))
            if sampling.top_p < 1.0:
                warpers.append(tf.TopPLogitsWarper(sampling.top_p))
            sampler = tf.LogitsProcessorList(warpers)
            generator = torch.Generator(device=self._info.device)
            generator.manual_seed(sampling.seed if sampling.seed is not None else torch.seed())
        return _Row(
            request=request,
            prompt_tokens=prompt_tokens,
            stop_ids=self._stop_ids | frozenset(request.stop_token_ids),
            detokenizer=IncrementalDetokenizer(lambda ids: self._tokenizer.decode(ids, skip_special_tokens=False)),
            stops=StopStringMatcher(request.stop_strings),
            sampler=sampler,
            generator=generator,
        )

    def _encode(self, request: GenerationRequest) -> list[int]:
        text = request.prompt if request.prompt is not None else self.chat_prompt(request.messages)
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _decode(
        self, requests: Sequence[GenerationRequest], cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        import torch

        if self._model is None:
            raise EngineError("the model was closed")
        started = time.perf_counter()
        encoded = [self._encode(r) for r in requests]
        if not all(encoded):
            raise EngineError("empty prompt")
        rows = [self._new_row(r, len(ids)) for r, ids in zip(requests, encoded, strict=True)]
        device, width = self._info.device, max(len(ids) for ids in encoded)
        input_ids = torch.full((len(rows), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, ids in enumerate(encoded):
            input_ids[i, width - len(ids) :] = torch.tensor(ids)
            mask[i, width - len(ids) :] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        past: Any = None

        def finish(i: int, reason: FinishReason, error: str | None = None) -> tuple[int, StreamItem]:
            row = rows[i]
            row.done = True
            now = time.perf_counter()
            stats = GenerationStats(
                prompt_tokens=row.prompt_tokens,
                generated_tokens=row.generated,
                ttft_s=(row.first_token_at or now) - started,
                total_s=now - started,
            )
            return i, Finished(reason=reason, text="".join(row.text), stats=stats, error=error)

        with torch.inference_mode():
            while not all(row.done for row in rows):
                for i, row in enumerate(rows):
                    cancel = cancels[i]
                    if not row.done and cancel is not None and cancel.is_set():
                        yield finish(i, "cancelled")  # the row still rides along until its wave ends
                if all(row.done for row in rows):
                    return
                try:
                    out = self._model(
                        input_ids=input_ids,
                        attention_mask=mask,
                        position_ids=positions,
                        logits_to_keep=1,
                        **{self._cache_arg: past},
                    )
                except RuntimeError as exc:  # out of memory, device errors
                    message = str(exc).splitlines()[0]
                    yield from (finish(i, "error", message) for i, row in enumerate(rows) if not row.done)
                    return
                past = getattr(out, self._cache_arg)
                logits = out.logits[:, -1, :].float()
                next_ids = [self._pad_id] * len(rows)
                fed = [0] * len(rows)
                for i, row in enumerate(rows):
                    if row.done:
                        continue
                    token = self._pick(row, input_ids[i : i + 1], logits[i : i + 1])
                    row.generated += 1
                    row.first_token_at = row.first_token_at or time.perf_counter()
                    if token in row.stop_ids:
                        yield finish(i, "stop")
                        continue
                    text = row.stops.feed(row.detokenizer.push(token))
                    if row.generated >= row.request.max_new_tokens and not row.stops.stopped:
                        text += row.stops.feed(row.detokenizer.flush()) + row.stops.flush()
                    if text:
                        row.text.append(text)
                        yield i, TextDelta(text, row.generated)
                    if row.stops.stopped:
                        yield finish(i, "stop")
                    elif row.generated >= row.request.max_new_tokens:
                        yield finish(i, "length")
                    else:
                        next_ids[i], fed[i] = token, 1
                input_ids = torch.tensor(next_ids, device=device).unsqueeze(1)
                mask = torch.cat([mask, torch.tensor(fed, device=device).unsqueeze(1)], dim=1)
                positions = positions[:, -1:] + 1

    def _pick(self, row: _Row, input_ids: torch.Tensor, logits: torch.Tensor) -> int:
        import torch

        if row.sampler is None:
            return int(logits.argmax(dim=-1).item())
        scores = row.sampler(input_ids, logits)
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=row.generator).item())
