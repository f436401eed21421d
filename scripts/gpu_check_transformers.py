"""Step `transformers_compile` of scripts/gpu_check.py: the transformers engine's static cache and
compiled decode (`compile: auto`, on by default on CUDA) against its growing cache, and both
against transformers' own `generate` with a dynamic cache and with `cache_implementation="static"`
(which compiles the forward by itself on CUDA), on a random model with VibeThinker-1.5B's shapes.

It reports batch-1 decode tokens/s of each (the best of two runs after a warm-up), the seconds the
first compiled run took (the compile), and whether the compiled engine's greedy tokens agree with
the growing cache's. In fake mode (CPU) the compile uses torch.compile's "eager" backend, which
traces the same graph without building kernels, so the step stays quick in CI.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NEW_TOKENS = 256
PROMPT = "Find the remainder when 7 to the power 2024 is divided by 100. " * 4


def _engine_rate(backend: Any, tokens: int) -> dict[str, Any]:
    from vibecli.engine.types import Finished, GenerationRequest, Sampling

    def once(count: int) -> Finished:
        request = GenerationRequest(prompt=PROMPT, sampling=Sampling(temperature=0), max_new_tokens=count,
                                    stop_token_ids=())  # fmt: skip
        last = list(backend.stream(request))[-1]
        assert isinstance(last, Finished) and last.reason != "error", last
        return last

    started = time.monotonic()
    once(16)  # warm-up; compiles when the engine compiles
    first_s = time.monotonic() - started
    runs = [once(tokens) for _ in range(2)]
    best = max(runs, key=lambda f: f.stats.decode_tokens_per_s)
    return {"decode_tokens_per_s": round(best.stats.decode_tokens_per_s, 1), "warm_up_s": round(first_s, 1),
            "generated_tokens": best.stats.generated_tokens, "text": best.text}  # fmt: skip


def _generate_rate(backend: Any, tokens: int, static: bool) -> dict[str, Any]:
    """transformers' own generate on the same model object; tokens/s after the first token."""
    import torch

    model, tokenizer = backend._model, backend._tokenizer
    ids = tokenizer(PROMPT, return_tensors="pt", add_special_tokens=False).to(model.device)
    stamps: list[float] = []

    class Stamp:  # transformers' streamer protocol: put(prompt ids), put(each new token), end()
        def put(self, value: Any) -> None:
            torch.cuda.synchronize()
            stamps.append(time.perf_counter())

        def end(self) -> None:
            stamps.append(time.perf_counter())

    def once(count: int) -> float:
        stamps.clear()
        extra = {"cache_implementation": "static"} if static else {}
        with torch.inference_mode():
            model.generate(**ids, max_new_tokens=count, min_new_tokens=count, do_sample=False, streamer=Stamp(),
                           pad_token_id=tokenizer.pad_token_id, **extra)  # fmt: skip
        return (count - 1) / (stamps[-1] - stamps[1])

    started = time.monotonic()
    once(16)
    first_s = time.monotonic() - started
    return {"decode_tokens_per_s": round(max(once(tokens) for _ in range(2)), 1), "warm_up_s": round(first_s, 1)}


@contextlib.contextmanager
def _cpu_only(fake: bool) -> Iterator[None]:
    """Fake mode says a GPU is there; dynamo would then save CUDA's RNG state, which a CPU torch lacks."""
    import torch

    said = torch.cuda.is_available
    if fake:
        torch.cuda.is_available = lambda: False  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.cuda.is_available = said  # type: ignore[assignment]


def step_transformers_compile(check: Any) -> dict[str, Any]:
    from transformers import CompileConfig

    from vibecli.engine.backend import LoadOptions
    from vibecli.engine.transformers_backend import load
    from vibecli.engine.transformers_static import StaticDecoding

    path: Path = check.vibethinker()
    tokens = 16 if check.mode.fake else NEW_TOKENS
    result: dict[str, Any] = {"batch": 1, "new_tokens": tokens}
    for name, setting in (("vibe_growing_cache", "off"), ("vibe_static_compiled", "on")):
        options = LoadOptions(path=path, name=path.name, format="fp16", device=check.mode.torch_device,
                              dtype=check.mode.transformers_dtype, compile=setting)  # fmt: skip
        backend = load(options)
        if setting == "on" and check.mode.fake:  # CPU: trace the graph, build no kernels
            backend._static = StaticDecoding(backend._model, CompileConfig(fullgraph=True, backend="eager", mode=None))
        with _cpu_only(check.mode.fake):
            result[name] = {**_engine_rate(backend, tokens), "notes": list(backend.info.notes)}
        if name == "vibe_growing_cache" and not check.mode.fake:
            result["generate_dynamic"] = _generate_rate(backend, tokens, static=False)
            result["generate_static_compiled"] = _generate_rate(backend, tokens, static=True)
        backend.close()
    texts = [result[name].pop("text") for name in ("vibe_growing_cache", "vibe_static_compiled")]
    result["agreement"] = check.agreement(path, texts[:1], texts[1:])
    rates = {k: v["decode_tokens_per_s"] for k, v in result.items() if isinstance(v, dict) and "warm_up_s" in v}
    result["ratios"] = {k: round(v / rates["vibe_growing_cache"], 2) for k, v in rates.items()}
    result["ok"] = bool(result["agreement"]["ok"]) and all(rates.values())
    return result
