"""Batch throughput: the same problems run with concurrency against one by one, as a ratio.

    python bench/batch_throughput.py [--problems 48] [--concurrency 8] [--model DIR]

Both passes use the backend's run-many path with greedy decoding on the same requests; the
one-by-one pass sets the batch size to 1. Default model: the bundled demo model.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from vibecli.demo.problems import unseen_problems
from vibecli.engine.backend import LoadOptions
from vibecli.engine.formats import detect_format
from vibecli.engine.transformers_backend import load
from vibecli.engine.types import Sampling
from vibecli.paths import demo_model_dir
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.solve import build_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=demo_model_dir())
    parser.add_argument("--problems", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    backend = load(LoadOptions(args.model, args.model.name, detect_format(args.model), device="cpu"))
    math = load_templates()["math"]
    requests = [
        dataclasses.replace(build_request(math, p.question, sampling=Sampling(0), max_tokens=400), request_id=str(i))
        for i, p in enumerate(unseen_problems(args.problems, seed=21))
    ]
    list(backend.run_many(requests[:4], max_batch=4))  # warm-up
    rates = {}
    for label, batch in (("one by one", 1), (f"concurrency {args.concurrency}", args.concurrency)):
        start = time.perf_counter()
        tokens = sum(c.finished.stats.generated_tokens for c in backend.run_many(requests, max_batch=batch))
        seconds = time.perf_counter() - start
        rates[label] = (len(requests) / seconds, tokens / seconds)
        print(
            f"{label:16} {len(requests) / seconds:7.1f} problems/s  {tokens / seconds:8.0f} tokens/s  ({seconds:.1f}s)"
        )
    (one_p, one_t), (many_p, many_t) = rates.values()
    print(f"ratio (concurrent / one by one): {many_p / one_p:.2f}x problems/s, {many_t / one_t:.2f}x tokens/s")


if __name__ == "__main__":
    main()
