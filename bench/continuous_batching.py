"""vibe's continuous batch (the transformers backend's `open_batch`) against transformers' own
continuous-batching API (`generate_batch`, paged attention) on the same model, prompts and
greedy settings: tokens/s and the ratio, and whether the outputs are the same tokens.

    python bench/continuous_batching.py [--requests 32] [--batch 8] [--max-new 200] [--model DIR]

This is the measurement behind the choice of vibe's own step-level scheduler (see
vibecli/engine/transformers_batch.py): transformers' API also has no per-request seeds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from transformers import GenerationConfig

from vibecli.demo.problems import unseen_problems
from vibecli.engine.backend import LoadOptions
from vibecli.engine.formats import detect_format
from vibecli.engine.transformers_backend import load
from vibecli.engine.types import GenerationRequest, Message, Sampling
from vibecli.paths import demo_model_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=demo_model_dir())
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="vibe's rows at once (transformers sizes its own)")
    parser.add_argument("--max-new", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    backend = load(LoadOptions(args.model, args.model.name, detect_format(args.model), device="cpu"))
    model, tokenizer = backend._model, backend._tokenizer
    questions = [p.question for p in unseen_problems(args.requests, seed=44)]
    greedy, size = Sampling(temperature=0), args.max_new
    requests = [
        GenerationRequest(messages=(Message("user", q),), sampling=greedy, max_new_tokens=size, request_id=str(i))
        for i, q in enumerate(questions)
    ]
    prompts = [backend.encode_within_context(r) for r in requests]
    stops = sorted(backend.stop_ids)
    config = GenerationConfig(max_new_tokens=args.max_new, do_sample=False, eos_token_id=stops,
                              pad_token_id=tokenizer.pad_token_id)  # fmt: skip

    def ours() -> tuple[int, dict[str, str]]:
        done = list(backend.run_many(requests, max_batch=args.batch))
        return sum(c.finished.stats.generated_tokens for c in done), {c.request_id: c.finished.text for c in done}

    def theirs() -> tuple[int, dict[str, str]]:
        with torch.inference_mode():
            out = model.generate_batch(prompts, generation_config=config, warmup=False)
        texts, tokens = {}, 0
        for index, key in enumerate(sorted(out, key=lambda k: int(k.split("_")[-1]))):
            ids = list(out[key].generated_tokens)
            tokens += len(ids)
            cut = next((i for i, t in enumerate(ids) if t in backend.stop_ids), len(ids))
            texts[str(index)] = backend.decode(ids[:cut])
        return tokens, texts

    rates: dict[str, list[float]] = {"vibe": [], "transformers generate_batch": []}
    outputs: dict[str, dict[str, str]] = {}
    for _ in range(args.rounds):  # interleaved, so both meet the same machine
        for name, run in (("vibe", ours), ("transformers generate_batch", theirs)):
            start = time.perf_counter()
            tokens, outputs[name] = run()
            rates[name].append(tokens / (time.perf_counter() - start))
    for name, values in rates.items():
        print(f"{name:28} {max(values):8.1f} tokens/s (best of {args.rounds})")
    same = sum(outputs["vibe"][k] == outputs["transformers generate_batch"].get(k) for k in outputs["vibe"])
    ratio = max(rates["vibe"]) / max(rates["transformers generate_batch"])
    print(
        f"ratio vibe / transformers: {ratio:.2f}x tokens/s · identical outputs {same}/{len(requests)} · "
        f"{args.requests} requests, {args.batch} rows, torch threads {torch.get_num_threads()}"
    )


if __name__ == "__main__":
    main()
