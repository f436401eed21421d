"""Decode speed: vibe's transformers backend against transformers' own `generate`.

Both run greedy on the same model and prompt and produce the same tokens (the test suite
proves it); the bench reports tokens/s for each and their ratio. Without `--model`, a
random Qwen2 with VibeThinker's layout at a CPU-friendly size is built in a temp dir.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2ForCausalLM

from vibecli.demo.build import build_tokenizer, tiny_qwen2_config
from vibecli.engine.backend import LoadOptions
from vibecli.engine.transformers_backend import load
from vibecli.engine.types import Finished, GenerationRequest, Sampling


def random_model(directory: Path, hidden: int, layers: int) -> Path:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    model = Qwen2ForCausalLM(tiny_qwen2_config(tokenizer, hidden=hidden, layers=layers))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def vibe_run(backend: Any, prompt: str, tokens: int) -> tuple[float, int]:
    request = GenerationRequest(
        prompt=prompt, sampling=Sampling(temperature=0), max_new_tokens=tokens, stop_token_ids=()
    )
    start = time.perf_counter()
    finished = None
    for item in backend.stream(request):
        if isinstance(item, Finished):
            finished = item
    assert finished is not None
    return time.perf_counter() - start, finished.stats.generated_tokens


def reference_run(model: Any, tokenizer: Any, prompt: str, tokens: int) -> tuple[float, int]:
    enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    start = time.perf_counter()
    out = model.generate(**enc, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    return time.perf_counter() - start, int(out.shape[1] - enc["input_ids"].shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a model directory (default: a random Qwen2)")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory() as tmp:
        path = args.model or random_model(Path(tmp), args.hidden, args.layers)
        backend = load(LoadOptions(path=path, name=path.name, format="auto", device="cpu"))
        tokenizer = AutoTokenizer.from_pretrained(path)
        reference = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        prompt = "<|im_start|>user\nWhat is 48 + 37?<|im_end|>\n<|im_start|>assistant\n"
        vibe_run(backend, prompt, 8), reference_run(reference, tokenizer, prompt, 8)  # warm-up
        vibe_rates, ref_rates = [], []
        for _ in range(args.repeats):
            seconds, count = vibe_run(backend, prompt, args.tokens)
            vibe_rates.append(count / seconds)
            seconds, count = reference_run(reference, tokenizer, prompt, args.tokens)
            ref_rates.append(count / seconds)
    vibe_rate, ref_rate = statistics.median(vibe_rates), statistics.median(ref_rates)
    described = args.model or f"random Qwen2 hidden={args.hidden} layers={args.layers}"
    print(f"model: {described}, {args.tokens} tokens, greedy, CPU")
    print(f"vibe transformers backend (streaming): {vibe_rate:8.1f} tok/s")
    print(f"transformers generate (reference):     {ref_rate:8.1f} tok/s")
    print(f"ratio vibe / reference:                {vibe_rate / ref_rate:8.2f}")


if __name__ == "__main__":
    main()
