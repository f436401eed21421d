"""What the HTTP hop costs: the same greedy problems through `vibe serve` + `--backend openai`
against the same backend called in-process, as ratios.

    python bench/remote_overhead.py [--problems 24] [--concurrency 4] [--model DIR]

One run starts `vibe serve` on loopback (a subprocess, as users run it), then sends the same
requests to it through the openai backend and to an in-process backend of the same model.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

from vibecli.config import Server
from vibecli.demo.problems import unseen_problems
from vibecli.engine.backend import LoadOptions
from vibecli.engine.formats import detect_format
from vibecli.engine.openai_backend import RemoteOptions, connect
from vibecli.engine.transformers_backend import load
from vibecli.engine.types import Sampling
from vibecli.paths import demo_model_dir
from vibecli.prompting.templates import load_templates
from vibecli.reasoning.solve import build_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=demo_model_dir())
    parser.add_argument("--problems", type=int, default=24)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    serve = subprocess.Popen([sys.executable, "-m", "vibecli", "serve", "--model", str(args.model), "--port", "0",
                              "--quiet", "--concurrency", str(args.concurrency), "--device", "cpu"],
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert serve.stderr is not None
    url = re.search(r"on (http://\S+/v1)", serve.stderr.readline())
    try:
        assert url, "vibe serve did not start"
        remote = connect(RemoteOptions(servers=(Server(url.group(1)),)))
        local = load(LoadOptions(args.model, args.model.name, detect_format(args.model), device="cpu"))
        math = load_templates()["math"]
        problems = unseen_problems(args.problems, seed=33)
        greedy = Sampling(0)
        requests = [
            dataclasses.replace(build_request(math, p.question, sampling=greedy, max_tokens=400), request_id=str(i))
            for i, p in enumerate(problems)
        ]
        rates, texts = {}, {}
        for label, backend in (("in-process", local), ("vibe serve + openai", remote)):
            list(backend.run_many(requests[:2], max_batch=2))  # warm-up
            start = time.perf_counter()
            done = list(backend.run_many(requests, max_batch=args.concurrency))
            seconds = time.perf_counter() - start
            tokens = sum(c.finished.stats.generated_tokens for c in done)
            rates[label] = len(requests) / seconds
            texts[label] = {c.request_id: c.finished.text for c in done}
            rate = f"{len(requests) / seconds:7.2f} problems/s  {tokens / seconds:8.0f} tokens/s"
            print(f"{label:20} {rate}  ({seconds:.1f}s)")
        same = sum(texts["in-process"][k] == texts["vibe serve + openai"][k] for k in texts["in-process"])
        local_rate, remote_rate = rates.values()
        ratio = remote_rate / local_rate
        print(f"ratio (served / in-process): {ratio:.2f}x problems/s; identical texts {same}/{len(requests)}")
    finally:
        serve.terminate()
        serve.wait()


if __name__ == "__main__":
    main()
