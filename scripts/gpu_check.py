"""The exl2 engine on a real NVIDIA GPU, in one run that writes one JSON file of results.

Steps (each recorded, a failure in one does not stop the next):
1. environment: torch, CUDA, the GPU, flash-attn.
2. extension: `import exllamav2` through vibe's guard, which builds its CUDA extension.
3. greedy_match: the demo model in fp16, greedy, through the exl2 backend and the transformers
   backend on the same GPU: the texts must be identical.
4. quantize: a tiny random Qwen2 (dimensions ExLlamaV2's kernels take) quantized to EXL2
   4.0 bpw by `vibe models quantize` (ExLlamaV2's converter), then loaded and generating.
5. speed: a random-weight model with VibeThinker-1.5B's shapes in fp16, decode tokens/s at batch 1
   in exl2 and in transformers on the same GPU, and their ratio; peak GPU memory of each.

Run it with scripts/gpu_check.sh, which installs the carried wheels first.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUDGET_S = 520.0  # the whole check must end inside 9 minutes, wheels and start included
STARTED = time.monotonic()
WORK = Path(os.environ.get("VIBE_GPU_CHECK_WORK", "/tmp/vibe-gpu-check"))
QUESTIONS = ["What is 48 + 37?", "Compute 123 * 45.", "Solve for x: 3x + 7 = 22.", "What is 905 - 387?"]
VIBETHINKER_15B = {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                   "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936}  # fmt: skip


def left() -> float:
    return BUDGET_S - (time.monotonic() - STARTED)


def options(path: Path, name: str, format: str = "fp16", **extra: Any) -> Any:
    from vibecli.engine.backend import LoadOptions

    return LoadOptions(path=path, name=name, format=format, **extra)


def free(*objects: Any) -> None:
    import torch

    for item in objects:
        if item is not None and hasattr(item, "close"):
            item.close()
    gc.collect()
    torch.cuda.empty_cache()


def greedy_text(backend: Any, question: str, tokens: int) -> tuple[str, Any]:
    from vibecli.engine.types import GenerationRequest, Message, Sampling

    request = GenerationRequest(messages=(Message("user", question),), sampling=Sampling(temperature=0),
                                max_new_tokens=tokens)  # fmt: skip
    finished = list(backend.stream(request))[-1]
    return finished.text, finished


def step_environment() -> dict[str, Any]:
    import torch

    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    props = torch.cuda.get_device_properties(0)
    return {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
            "gpu": props.name, "vram_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}", "flash_attn": version("flash-attn"),
            "exllamav2": version("exllamav2"), "transformers": version("transformers"),
            "cpus": os.cpu_count()}  # fmt: skip


def step_extension() -> dict[str, Any]:
    from vibecli.engine.exl2_runtime import import_exllamav2

    started = time.monotonic()
    module = import_exllamav2()
    import exllamav2.attn as attn

    return {"import_s": round(time.monotonic() - started, 1), "version": module.__version__,
            "paged_attention": bool(attn.has_flash_attn_with_paged)}  # fmt: skip


def fp16_copy(source: Path, target: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float16)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    return target


def step_greedy_match() -> dict[str, Any]:
    from vibecli.engine import exl2_backend, transformers_backend
    from vibecli.paths import demo_model_dir

    path = fp16_copy(demo_model_dir(), WORK / "demo-fp16")
    exl2 = exl2_backend.load(options(path, "demo-fp16", context=1024, max_new_tokens=256))
    exl2_out = [greedy_text(exl2, q, 256)[0] for q in QUESTIONS]
    free(exl2)
    reference = transformers_backend.load(options(path, "demo-fp16", device="cuda", dtype="fp16"))
    ref_out = [greedy_text(reference, q, 256)[0] for q in QUESTIONS]
    free(reference)
    same = [a == b for a, b in zip(exl2_out, ref_out, strict=True)]
    return {"prompts": len(QUESTIONS), "identical": sum(same), "ok": all(same),
            "exl2": exl2_out, "transformers": ref_out}  # fmt: skip


def tiny_random(target: Path, device: str = "cuda", **shape: int) -> Path:
    """A random-weight Qwen2 in fp16, VibeThinker's architecture at the given shape, with the demo tokenizer."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from vibecli.demo.build import build_tokenizer

    tokenizer = build_tokenizer()
    settings: dict[str, Any] = {
        "vocab_size": len(tokenizer), "hidden_size": 96, "intermediate_size": 288, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
        "rope_theta": 10000.0, "tie_word_embeddings": True, "bos_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id,
    }  # fmt: skip
    settings.update(shape)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(Qwen2Config(**settings)).half()
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    del model
    if device == "cuda":
        free()
    return target


def step_quantize() -> dict[str, Any]:
    from vibecli.engine import exl2_backend
    from vibecli.engine.formats import detect_format

    source = tiny_random(WORK / "tiny-fp16", hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                         vocab_size=512, max_position_embeddings=2048)  # fmt: skip
    output = WORK / "tiny-exl2-4.0bpw"
    env = {**os.environ, "XDG_DATA_HOME": str(WORK / "data")}
    started = time.monotonic()
    command = [sys.executable, "-m", "vibecli", "models", "quantize", str(source), "--bpw", "4.0", "--out", str(output)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=max(60, left() - 150))
    result: dict[str, Any] = {"exit_code": run.returncode, "quantize_s": round(time.monotonic() - started, 1),
                              "stderr_tail": run.stderr[-1500:]}  # fmt: skip
    if run.returncode != 0:
        return {**result, "ok": False}
    result["format"] = detect_format(output)
    result["config_quantization"] = json.loads((output / "config.json").read_text()).get("quantization_config")
    backend = exl2_backend.load(options(output, output.name, "exl2", context=2048, max_new_tokens=256))
    text, finished = greedy_text(backend, "What is 48 + 37?", 32)
    free(backend)
    return {**result, "ok": result["format"] == "exl2" and finished.stats.generated_tokens > 0,
            "generated_tokens": finished.stats.generated_tokens, "text": text}  # fmt: skip


def qwen_sized_tokenizer(target: Path, vocab_size: int) -> None:
    """A byte-level BPE tokenizer with exactly `vocab_size` ids and Qwen's ChatML ids (151643-151645),
    so a random model with VibeThinker's vocabulary can decode every token it picks."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from vibecli.demo.build import CHAT_TEMPLATE

    regular = 151643
    base = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(base)}
    merges: list[tuple[str, str]] = []
    pairs = [(a, b) for a in base for b in base]
    for left_part, right_part in pairs + [(a + b, c) for a, b in pairs for c in base]:
        if len(vocab) >= regular:
            break
        if left_part + right_part not in vocab:
            vocab[left_part + right_part] = len(vocab)
            merges.append((left_part, right_part))
    core = Tokenizer(models.BPE(vocab, merges))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    specials += [f"<|reserved_{i}|>" for i in range(vocab_size - regular - len(specials))]
    core.add_special_tokens([AddedToken(t, special=True) for t in specials])
    fast = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(target)


def decode_speed(backend: Any, tokens: int) -> dict[str, Any]:
    import torch

    from vibecli.engine.types import GenerationRequest, Sampling

    prompt = "Find the remainder when 7 to the power 2024 is divided by 100. " * 8
    best, generated = 0.0, 0
    for round_tokens in (16, tokens, tokens):  # one warm-up, then the better of two
        request = GenerationRequest(prompt=prompt, sampling=Sampling(temperature=0), max_new_tokens=round_tokens)
        finished = list(backend.stream(request))[-1]
        if round_tokens == tokens:
            best, generated = max(best, finished.stats.decode_tokens_per_s), finished.stats.generated_tokens
    return {"decode_tokens_per_s": round(best, 1), "generated_tokens": generated,
            "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}  # fmt: skip


def step_speed() -> dict[str, Any]:
    import torch

    from vibecli.engine import exl2_backend, transformers_backend

    path = WORK / "vibethinker-1.5b-shapes"
    tiny_random(path, **VIBETHINKER_15B, max_position_embeddings=4096,
                bos_token_id=151643, eos_token_id=151645, pad_token_id=151643)  # fmt: skip
    qwen_sized_tokenizer(path, VIBETHINKER_15B["vocab_size"])
    tokens = 256
    torch.cuda.reset_peak_memory_stats()
    exl2 = exl2_backend.load(options(path, "vt-1.5b-random", context=1024, max_new_tokens=tokens))
    exl2_speed = decode_speed(exl2, tokens)
    free(exl2)
    torch.cuda.reset_peak_memory_stats()
    reference = transformers_backend.load(options(path, "vt-1.5b-random", device="cuda", dtype="fp16"))
    ref_speed = decode_speed(reference, tokens)
    free(reference)
    reference_rate = ref_speed["decode_tokens_per_s"]
    ratio = exl2_speed["decode_tokens_per_s"] / reference_rate if reference_rate else None
    return {"shapes": VIBETHINKER_15B, "dtype": "fp16", "batch": 1, "new_tokens": tokens,
            "exl2": exl2_speed, "transformers": ref_speed,
            "exl2_over_transformers": round(ratio, 2) if ratio else None}  # fmt: skip


STEPS: list[tuple[str, Callable[[], dict[str, Any]], float]] = [
    ("environment", step_environment, 5),
    ("extension", step_extension, 60),
    ("greedy_match", step_greedy_match, 30),
    ("quantize", step_quantize, 120),
    ("speed", step_speed, 60),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "steps": {}}
    for name, step, needs_s in STEPS:
        if left() < needs_s:
            results["steps"][name] = {"ok": False, "skipped": f"only {left():.0f}s left"}
            continue
        started = time.monotonic()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            outcome = step()
            outcome.setdefault("ok", True)
        except Exception as exc:  # one step's failure is a result, not the end of the check
            error = f"{type(exc).__name__}: {exc}"
            outcome = {"ok": False, "error": error, "traceback": traceback.format_exc()[-3000:]}
        outcome["seconds"] = round(time.monotonic() - started, 1)
        results["steps"][name] = outcome
        args.out.write_text(json.dumps(results, indent=2))
        if name == "extension" and not outcome["ok"]:
            break  # nothing after this can run without the extension
    results["total_s"] = round(time.monotonic() - STARTED, 1)
    results["ok"] = all(step.get("ok") for step in results["steps"].values())
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v.get("ok") for k, v in results["steps"].items()}), flush=True)


if __name__ == "__main__":
    main()
