"""Accuracy and speed of vibe's math checker against math-verify, on cases labelled by truth.

    python bench/verify_math.py [--cases bench/cases/math_truth.jsonl] [--repeat 20]

Both graders see the same (gold, prediction) pairs, each wrapped in \\boxed{} as a model would
write it. A false positive accepts a wrong answer; a false negative rejects a right one;
`undecided` (vibe only) is counted apart from both. Speed: per-case time in one process for
each, then vibe's `--cases` path (worker pool with hard time limits) over `--repeat` copies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from math_verify import parse, verify

from vibecli.verify.compare import check_equal
from vibecli.verify.math import check_many, math_pool


def math_verify_equal(gold: str, pred: str) -> bool:
    return bool(verify(parse(f"\\boxed{{{gold}}}"), parse(f"\\boxed{{{pred}}}")))


def score(name: str, outcomes: list[bool | None], labels: list[bool], classes: list[str], times: list[float]) -> None:
    fp = [c for o, t, c in zip(outcomes, labels, classes, strict=True) if o is True and not t]
    fn = [c for o, t, c in zip(outcomes, labels, classes, strict=True) if o is False and t]
    undecided = sum(o is None for o in outcomes)
    correct = sum(o is t for o, t in zip(outcomes, labels, strict=True))
    median_ms, mean_ms = statistics.median(times) * 1000, statistics.mean(times) * 1000
    print(
        f"{name:12} accuracy {correct / len(labels):6.1%}  false positives {len(fp):3}  false negatives {len(fn):3}  "
        f"undecided {undecided:3}  median {median_ms:6.1f} ms  mean {mean_ms:6.1f} ms"
    )
    for kind, wrong in (("false positives", fp), ("false negatives", fn)):
        if wrong:
            print(f"{'':12} {kind} by class: {dict(Counter(wrong))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=Path(__file__).parent / "cases" / "math_truth.jsonl")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.open()]
    labels = [bool(c["equal"]) for c in cases]
    classes = [str(c["class"]) for c in cases]
    print(
        f"{len(cases)} cases, {sum(labels)} equal and {len(labels) - sum(labels)} not, labelled by mathematical truth"
    )

    results: dict[str, tuple[list[bool | None], list[float]]] = {}
    for name, grade in (("vibe", lambda g, p: check_equal(g, p).equal), ("math-verify", math_verify_equal)):
        outcomes, times = [], []
        for case in cases:
            start = time.perf_counter()
            outcomes.append(grade(case["gold"], case["pred"]))
            times.append(time.perf_counter() - start)
        results[name] = (outcomes, times)
    for name, (outcomes, times) in results.items():
        score(name, outcomes, labels, classes, times)

    pairs = [(c["gold"], c["pred"]) for c in cases] * args.repeat
    start = time.perf_counter()
    with math_pool(workers=2, timeout_s=10) as pool:
        list(check_many(pool, pairs))
    elapsed = time.perf_counter() - start
    rate = len(pairs) / elapsed
    print(f"vibe --cases path: {len(pairs)} cases in {elapsed:.1f}s ({rate:.0f} cases/s, 2 workers, parse cache)")


if __name__ == "__main__":
    main()
