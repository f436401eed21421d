"""LiveCodeBench grading side by side (one sample per core) against one sample at a time.

The same samples (stdin and call-based stand-ins, right and wrong, several tests each) are graded
by `grade_samples` with VIBE_EVAL_WORKERS=1 and with the default (one per core), interleaved; the
verdicts must be identical. `python bench/eval_code_grading.py [--samples N] [--rounds R]`
"""

from __future__ import annotations

import argparse
import os
import time

from vibecli.eval.datasets import CodeTest, EvalProblem
from vibecli.eval.grading import code_workers, grade_samples
from vibecli.verify.math import math_pool

STDIN = EvalProblem(
    "sum", "", None, "code", tests=tuple(CodeTest(f"{i} {i + 1}\n", f"{2 * i + 1}\n") for i in range(6))
)
CALL = EvalProblem("add", "", None, "code", fn_name="addTwo",
                   tests=tuple(CodeTest(f"{i}\n{i + 1}", f"{2 * i + 1}", True) for i in range(6)))  # fmt: skip
RESPONSES = {
    "sum": ["```python\na, b = map(int, input().split())\nprint(a + b)\n```",
            "```python\na, b = map(int, input().split())\nprint(a + b if a < 3 else a)\n```"],
    "add": ["```python\nclass Solution:\n    def addTwo(self, a, b):\n        return a + b\n```",
            "```python\ndef addTwo(a, b):\n    return a + b if a < 4 else b\n```"],
}  # fmt: skip


def samples(n: int) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        problem = "sum" if i % 2 == 0 else "add"
        out.append({"id": f"{problem}#{i}#off", "problem": problem, "sample": i, "budget": None,
                    "response": RESPONSES[problem][(i // 2) % 2]})  # fmt: skip
    return out


def grade(items: list[dict[str, object]], workers: str) -> tuple[float, list[object]]:
    os.environ["VIBE_EVAL_WORKERS"] = workers
    graded: list[dict[str, object]] = []
    started = time.perf_counter()
    with math_pool(workers=1) as pool:
        grade_samples(pool, "card", items, {"sum": STDIN, "add": CALL}, {"code": "code"}, graded.append)
    return time.perf_counter() - started, [g["correct"] for g in sorted(graded, key=lambda g: str(g["sample"]))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    items = samples(args.samples)
    parallel = str(code_workers())
    serial_times, parallel_times = [], []
    for _ in range(args.rounds):
        serial, one = grade(items, "1")
        side, many = grade(items, parallel)
        assert one == many, "the verdicts differ"
        serial_times.append(serial)
        parallel_times.append(side)
    s, p = min(serial_times), min(parallel_times)
    print(f"{len(items)} samples, {len(STDIN.tests)} tests each, best of {args.rounds}")
    print(f"one at a time: {s:.2f} s · {parallel} side by side: {p:.2f} s · {s / p:.2f}x")


if __name__ == "__main__":
    main()
