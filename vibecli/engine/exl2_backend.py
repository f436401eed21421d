"""The primary engine: ExLlamaV2 running EXL2 quants (and fp16/bf16 checkpoints) on NVIDIA GPUs.

Generation goes through `ExLlamaV2DynamicGenerator`, one job per request, always inside a
continuous batch (exl2_batch.py), which also turns its result dicts into `TextDelta`/`Finished`.
Paged mode (concurrent batching) needs flash-attn >= 2.5.7 on an Ampere or newer GPU, for an
architecture ExLlamaV2 lets use it; without it the generator runs unpaged, one job at a time.
Prompt pages are reused by the generator, so a thinking-budget continuation does not prefill its
prefix again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibecli.engine.backend import BatchSession, LoadOptions
from vibecli.engine.chat_template import ChatTemplate
from vibecli.engine.exl2_batch import Exl2Batch, SharedGenerator
from vibecli.engine.exl2_config import quantized_cache_problem, rope_fix
from vibecli.engine.exl2_runtime import import_exllamav2, loading_progress, stdout_to_stderr
from vibecli.engine.types import (
    NO_STATS,
    Completion,
    Finished,
    GenerationRequest,
    Message,
    ModelInfo,
    StreamItem,
)
from vibecli.errors import EngineError

PAGE = 256  # the dynamic generator's page size: cache lengths are multiples of it
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")
# The FP8 cache is left out on purpose: the dynamic generator refuses it.
CACHE_CLASSES = {
    "fp16": "ExLlamaV2Cache",
    "q8": "ExLlamaV2Cache_Q8",
    "q6": "ExLlamaV2Cache_Q6",
    "q4": "ExLlamaV2Cache_Q4",
}
PAGED_JOBS = 4  # paged mode sizes its cache for this many full-length sequences at once
UNPAGED_NOTE = "unpaged: one job at a time (paged batching needs flash-attn >= 2.5.7 and an Ampere or newer GPU)"
NO_FLASH_ARCH_NOTE = "unpaged: one job at a time (ExLlamaV2 turns flash-attn off for this architecture)"
PROMPT_ROOM = 4096  # tokens of prompt the default context leaves beside --max-tokens


def round_up(tokens: int, page: int = PAGE) -> int:
    return -(-tokens // page) * page


def sampler_settings(settings_class: Any, request: GenerationRequest) -> Any:
    """Every field of `ExLlamaV2Sampler.Settings` set: its defaults are not neutral
    (repetition penalty 1.025, top-k 50, top-p 0.8)."""
    sampling = request.sampling
    greedy = sampling.greedy
    return settings_class(
        temperature=1.0 if greedy else sampling.temperature,
        top_k=1 if greedy else sampling.top_k,  # 0 is off
        top_p=0.0 if greedy or sampling.top_p >= 1.0 else sampling.top_p,  # outside (0, 1) is off
        min_p=0.0, top_a=0.0, tfs=0.0, typical=0.0, skew=0.0, smoothing_factor=0.0,
        min_temp=0.0, max_temp=0.0, temp_exponent=1.0, temperature_last=False,
        token_repetition_penalty=1.0, token_repetition_range=-1, token_repetition_decay=0,
        token_frequency_penalty=0.0, token_presence_penalty=0.0,
        mirostat=False, dry_multiplier=0.0, xtc_probability=0.0, token_bias=None, cfg_scale=None,
    )  # fmt: skip


def generation_eos_ids(model_dir: Path) -> list[int]:
    """Every eos id in `generation_config.json` (ExLlamaV2 keeps only the first of a list)."""
    path = model_dir / "generation_config.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id") if path.is_file() else None
    except (OSError, ValueError):
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int)]


@dataclass(frozen=True)
class CachePlan:
    """How long one sequence may be, and how many tokens the cache holds in all."""

    context: int
    cache_tokens: int
    paged: bool

    @classmethod
    def make(cls, model_max: int, requested: int | None, max_new_tokens: int, *, paged: bool) -> CachePlan:
        # Without --ctx: the model's length, capped at what --max-tokens plus a prompt can use (saves VRAM).
        context = requested if requested is not None else min(model_max, max_new_tokens + PROMPT_ROOM)
        context = round_up(max(context, PAGE))
        return cls(context=context, cache_tokens=context * (PAGED_JOBS if paged else 1), paged=paged)

    def check(self, prompt_tokens: int, max_new_tokens: int) -> None:
        """Refuse, before enqueueing, a request that cannot fit (the generator would assert)."""
        needed = prompt_tokens + max_new_tokens
        if needed > self.context:
            raise EngineError(
                f"the prompt ({prompt_tokens} tokens) plus --max-tokens ({max_new_tokens}) needs {needed} tokens, "
                f"but the context is {self.context}: raise --ctx to {round_up(needed)} or lower --max-tokens"
            )


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load(options: LoadOptions) -> Exl2Backend:
    """Load an EXL2 (or fp16/bf16) directory onto the GPU(s), splitting layers automatically."""
    exl2 = import_exllamav2()
    theta, rope_problem = rope_fix(options.path)
    if rope_problem:
        raise EngineError(rope_problem)
    with stdout_to_stderr():  # the library prints warnings and progress to stdout, which carries our output
        return _load(exl2, options, theta)


def _load(exl2: Any, options: LoadOptions, rope_theta: float | None) -> Exl2Backend:
    import torch
    from exllamav2 import attn
    from exllamav2.generator import ExLlamaV2DynamicGenerator, ExLlamaV2DynamicJob, ExLlamaV2Sampler

    try:
        config = exl2.ExLlamaV2Config(str(options.path))
        if rope_theta is not None:  # config.json has it only as transformers 5's rope_parameters
            config.rotary_embedding_base = rope_theta
        config.arch_compat_overrides()
    except Exception as exc:  # unsupported architecture, missing files: the library asserts or raises
        raise EngineError(f"ExLlamaV2 cannot read {options.path}: {_first_line(exc)}") from None
    problem = quantized_cache_problem(options.cache, int(config.head_dim))
    if problem:
        raise EngineError(problem)
    flash_paged = bool(attn.has_flash_attn_with_paged) and torch.cuda.get_device_capability()[0] >= 8
    paged = flash_paged and not config.no_flash_attn  # the generator asserts on paged mode without flash-attn
    plan = CachePlan.make(config.max_seq_len, options.context, options.max_new_tokens, paged=paged)
    config.max_seq_len = plan.context
    model = exl2.ExLlamaV2(config)
    cache = getattr(exl2, CACHE_CLASSES[options.cache])(model, max_seq_len=plan.cache_tokens, lazy=True)
    try:
        with loading_progress(f"loading {options.name}") as progress:
            model.load_autosplit(cache, callback=progress)
    except RuntimeError as exc:
        if "Insufficient VRAM" in str(exc):
            raise EngineError(
                f"not enough GPU memory for the model and a {plan.cache_tokens}-token {options.cache} cache: "
                "try --cache q4, or a smaller --ctx (with a lower --max-tokens)"
            ) from None
        raise EngineError(f"cannot load {options.path}: {_first_line(exc)}") from None
    try:
        tokenizer = exl2.ExLlamaV2Tokenizer(config)
        generator = ExLlamaV2DynamicGenerator(
            model=model, cache=cache, tokenizer=tokenizer, paged=paged, **({} if paged else {"max_batch_size": 1})
        )
    except (AssertionError, ValueError, OSError) as exc:
        raise EngineError(f"ExLlamaV2 could not start its generator: {_first_line(exc)}") from None
    notes = () if paged else (UNPAGED_NOTE if not flash_paged else NO_FLASH_ARCH_NOTE,)
    info = ModelInfo(name=options.name, path=str(options.path), backend="exl2", device=torch.cuda.get_device_name(0),
                     dtype=f"{options.format}, {options.cache} cache", format=options.format, notes=notes,
                     context_length=plan.context)  # fmt: skip
    parts = Exl2Parts(ExLlamaV2DynamicJob, ExLlamaV2Sampler.Settings, model, cache, tokenizer, generator)
    return Exl2Backend(parts, ChatTemplate.from_model_dir(options.path), plan, info, generation_eos_ids(options.path))


@dataclass
class Exl2Parts:
    """The library objects one backend holds (real ones, or the test suite's fakes)."""

    job_class: Any
    settings_class: Any
    model: Any
    cache: Any
    tokenizer: Any
    generator: Any


class Exl2Backend:
    """An ExLlamaV2 dynamic generator behind the `Backend` protocol."""

    def __init__(
        self, parts: Exl2Parts, template: ChatTemplate, plan: CachePlan, info: ModelInfo, eos_ids: Sequence[int]
    ) -> None:
        self._parts, self._template, self._plan, self._info = parts, template, plan, info
        vocab_ids = [self._single_id(token) for token in STOP_TOKENS]
        self._stop_ids = sorted({i for i in [*vocab_ids, *eos_ids] if i is not None})
        self._shared = SharedGenerator(parts.generator)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def chat_prompt(self, messages: Sequence[Message]) -> str:
        return self._template.render(messages)

    def count_tokens(self, text: str) -> int:
        return int(self._encode(text).shape[-1])

    def stream(self, request: GenerationRequest, *, cancel: threading.Event | None = None) -> Iterator[StreamItem]:
        for _, item in self.stream_batch([request], cancels=[cancel]):
            yield item

    def open_batch(self, max_rows: int) -> BatchSession:
        """A continuous batch on the generator (unpaged: one row at a time)."""
        generator = self._parts.generator
        capacity = max(1, min(max_rows, int(generator.max_batch_size))) if self._plan.paged else 1
        return Exl2Batch(self._shared, self.build_job, capacity)

    def stream_batch(
        self, requests: Sequence[GenerationRequest], *, cancels: Sequence[threading.Event | None]
    ) -> Iterator[tuple[int, StreamItem]]:
        session = self.open_batch(len(requests))
        try:
            # Every request is checked against the context before any is enqueued.
            pairs = zip(requests, cancels, strict=True)
            index = {session.add(request, cancel): i for i, (request, cancel) in enumerate(pairs)}
            while session.active:
                for handle, item in session.step():
                    yield index[handle], item
        finally:  # a consumer that stopped early leaves no job behind
            session.close()

    def run_many(
        self, requests: Sequence[GenerationRequest], *, cancel: threading.Event | None = None, max_batch: int = 8
    ) -> Iterator[Completion]:
        session = self.open_batch(max_batch)
        try:
            ids: dict[int, str] = {}
            for request in requests:
                try:
                    ids[session.add(request, cancel)] = request.request_id
                except EngineError as exc:  # too long for the context: this request fails, the others run
                    yield Completion(request.request_id, Finished("error", "", NO_STATS, error=str(exc)))
            while session.active:
                for handle, item in session.step():
                    if isinstance(item, Finished):
                        yield Completion(ids[handle], item)
        finally:
            session.close()

    def close(self) -> None:
        with stdout_to_stderr():
            self._parts.model.unload()

    def build_job(self, identifier: int, request: GenerationRequest) -> Any:
        """An `ExLlamaV2DynamicJob` for `request`, refused here if it cannot fit the context."""
        text = request.prompt if request.prompt is not None else self.chat_prompt(request.messages)
        input_ids = self._encode(text)
        self._plan.check(int(input_ids.shape[-1]), request.max_new_tokens)
        stops: list[int | str] = [*self._stop_ids, *request.stop_token_ids, *request.stop_strings]
        return self._parts.job_class(
            input_ids=input_ids,
            max_new_tokens=request.max_new_tokens,
            gen_settings=sampler_settings(self._parts.settings_class, request),
            seed=request.sampling.seed,
            stop_conditions=list(dict.fromkeys(stops)),
            decode_special_tokens=True,  # keep <think> tags even where they are special tokens
            identifier=identifier,
        )

    def _encode(self, text: str) -> Any:
        return self._parts.tokenizer.encode(text, encode_special_tokens=True)

    def _single_id(self, token: str) -> int | None:
        value = self._parts.tokenizer.single_id(token)  # None when the piece is not in the vocabulary
        return value if isinstance(value, int) and value >= 0 else None
